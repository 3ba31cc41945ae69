"""What one reader does in the browser, for the analytics tests: host posts with the
widget in and out of view, votes, and the events they leave in the database."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections import Counter
from contextlib import closing
from typing import Any

from vswidget import Client
from vswidget.client import Published

from .helpers import OLLAMA, WAIT, Host, Server, Tab, assert_no_errors, expect

_slugs = itertools.count(1)


def publish(server: Server, title: str = OLLAMA["title"]) -> Published:
    """A fresh copy of the Ollama comparison: no events but the test's own."""
    with Client(server.base, server.key) as client:
        return client.publish(OLLAMA | {"slug": f"analytics-{next(_slugs)}", "title": title})


def post(host: Host, base: str | None = None, **spots: str) -> str:
    """A long host post with snippets at the ``top`` (in view), ``near`` (450 px below the
    fold: loaded, never seen) and ``far`` (6,200 px below it); ``base`` serves it from
    another origin of the host site (localhost for 127.0.0.1)."""
    url = host.page("analytics.html", **({"top": "", "near": "", "far": ""} | spots))
    return url.replace(host.base, base, 1) if base else url


def stored_events(server: Server, slug: str) -> list[tuple[str, str, str, str | None]]:
    """(type, origin, path, referrer) of every event stored for a comparison, in order."""
    with closing(sqlite3.connect(f"file:{server.database}?mode=ro", uri=True)) as db:
        return db.execute(
            "SELECT type, origin, path, referrer FROM events"
            " WHERE comparison_id = (SELECT id FROM comparisons WHERE slug = ?) ORDER BY id",
            (slug,),
        ).fetchall()


def wait_for_events(server: Server, slug: str, count: int) -> list[tuple[str, str, str, Any]]:
    """The comparison's stored events, once there are at least ``count`` of them."""
    deadline = time.monotonic() + WAIT / 1000
    events = stored_events(server, slug)
    while len(events) < count:
        assert time.monotonic() < deadline, f"{count} events expected, stored: {events}"
        time.sleep(0.1)
        events = stored_events(server, slug)
    return events


def other_origin(host: Host) -> str:
    """The host site under another origin: the same server, named localhost."""
    return host.base.replace("127.0.0.1", "localhost")


def rendered(tab: Tab, published: Published) -> bool:
    """Whether the widget of ``published`` was rendered (it has its shadow root)."""
    return tab.page.evaluate(  # type: ignore[no-any-return]
        """(token) => { const el = document.querySelector(`[data-vswidget="${token}"]`);
                        return !!(el && el.shadowRoot); }""",
        published.token,
    )


# Marks the element once it has been at least half visible, in a visible tab, for `ms`
# without a break. Its IntersectionObserver has the widget's threshold and is notified in
# the same rendering step as the widget's, after it: the widget's own one-second timer
# started first, and `ms` leaves it a margin.
WATCH_IN_VIEW = """([selector, ms]) => {
  const el = document.querySelector(selector);
  let timer;
  new IntersectionObserver((entries) => {
    const entry = entries[entries.length - 1];
    clearTimeout(timer);
    if (entry.intersectionRatio >= 0.5 && !document.hidden) {
      timer = setTimeout(() => el.setAttribute("data-held-in-view", ""), ms);
    }
  }, { threshold: 0.5 }).observe(el);
}"""


def hold_in_view(tab: Tab, published: Published, ms: int = 1300) -> None:
    """Keep the reader's eyes on a widget, half in view or more, for ``ms``."""
    selector = f'[data-vswidget="{published.token}"]'
    tab.page.evaluate(WATCH_IN_VIEW, [selector, ms])
    tab.page.locator(f"{selector}[data-held-in-view]").wait_for(state="attached")


def read_as_a_reader(tab: Tab, host: Host, server: Server, published: Published) -> tuple[str, str]:
    """One reader: on a first page the widget is in view, they vote and look at it for a
    second; on a second page, served from another origin, the widget loads just below the
    fold and is never seen. Returns both pages' URLs once their events are stored."""
    first = post(host, top=published.snippet)
    second = post(host, base=other_origin(host), near=published.snippet)
    tab.page.goto(first)
    tab.wait_rendered(f'[data-vswidget="{published.token}"]')
    vote = tab.widget(published.token).locator('li.card[data-key="ollama"] button.vote')
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    hold_in_view(tab, published)
    tab.page.goto(second)  # the first page is left: its events go out
    tab.wait_rendered(f'[data-vswidget="{published.token}"]')
    tab.page.goto("about:blank")
    events = wait_for_events(server, published.slug, 4)
    assert Counter((kind, origin) for kind, origin, _, _ in events) == {
        ("impression", host.base): 1,
        ("vote", host.base): 1,
        ("view", host.base): 1,
        ("impression", other_origin(host)): 1,
    }
    assert_no_errors(tab)
    return first, second


# -- events from the widget ----------------------------------------------------------------
