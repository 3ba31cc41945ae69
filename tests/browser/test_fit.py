"""The widget fits: every part reachable with the page's own scroll at every width, the space
held before it loads is the space it takes, and nothing the reader looks at moves.

The comparisons: the seed-shaped one (two items, four reviewers with long quotes, a
newsletter: examples/comparisons/whisper-vs-parakeet.yaml) and the largest allowed (four
items, twelve reviewers, every quote 2,000 characters). The host page is a blog post in
Georgia, as in tests/browser/pages/post.html.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .helpers import Host, Server, Tab

pytestmark = pytest.mark.browser

WIDTHS = [320, 375, 414, 768, 1280]
PARAGRAPH = (
    "<p>The two models we compared transcribe the same audio in very different ways: one "
    "listens to thirty seconds at a time and writes what it hears, the other keeps a running "
    "guess and corrects it as the sentence goes on. Both are free to run; neither is free to "
    "run well.</p>"
)
BELOW = PARAGRAPH * 8  # enough to put the widget below the first screen at any width here
SEED_LINK = "Whisper Large v3 vs Parakeet TDT: panel verdict and community vote"

# Layout shifts as Chromium reports them, from the first paint on, without those that follow
# a reader's input: the page's cumulative layout shift, and what moved.
COLLECT_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => list.getEntries().forEach((e) => {
  if (!e.hadRecentInput) window.__shifts.push({value: e.value,
    sources: (e.sources || []).map((s) => s.node ? s.node.nodeName + " " +
      (s.node.textContent || "").slice(0, 30) : "?")});
})).observe({type: "layout-shift", buffered: true});
"""

# Every element of the widget, in its shadow root: none scrolls, none overflows its box.
OVERFLOWS = """(host) => {
  const bad = [];
  for (const el of host.shadowRoot.querySelectorAll("*")) {
    const s = getComputedStyle(el);
    const scrolls = /auto|scroll/.test(s.overflowX + s.overflowY);
    if (scrolls && (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1))
      bad.push("scrolls: " + el.className);
    if (el.scrollWidth > el.clientWidth + 1 && s.display !== "inline")
      bad.push("overflows: " + el.tagName + "." + el.className + " " + el.scrollWidth + ">" +
        el.clientWidth);
  }
  const section = host.shadowRoot.querySelector("section").getBoundingClientRect();
  const box = host.getBoundingClientRect();
  if (section.right > box.right + 0.5 || section.left < box.left - 0.5)
    bad.push("wider than its column");
  return bad;
}"""


def open_post(tab: Tab, host: Host, snippet: str, before: str = "", after: str = BELOW) -> str:
    url = host.page("post.html", snippet=snippet, before=before, after=after)
    tab.page.add_init_script(COLLECT_SHIFTS)
    tab.page.goto(url)
    return url


def shift(tab: Tab) -> float:
    """The cumulative layout shift so far (every shift counted, not only the worst window)."""
    tab.page.wait_for_timeout(300)  # two frames and a margin: the observer's last entries
    return float(tab.page.evaluate("window.__shifts.reduce((a, s) => a + s.value, 0)"))


def scroll_through(tab: Tab) -> None:
    """Scroll down the whole page a screen at a time, then back up, as a reader would."""
    height = tab.page.evaluate("document.documentElement.scrollHeight")
    step = tab.page.viewport_size["height"] // 2
    for y in [*range(0, height, step), *range(height, -step, -step)]:
        tab.page.evaluate(f"window.scrollTo(0, {max(y, 0)})")
        tab.page.wait_for_timeout(30)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["seed", "largest"])
def test_every_part_is_reachable_with_the_pages_own_scroll_at_every_width(
    new_tab: Callable[..., Tab], host: Host, server: Server, name: str, width: int
) -> None:
    tab = new_tab(viewport={"width": width, "height": 800})
    published = server.published[name]
    open_post(tab, host, published.snippet, after="")
    selector = f'[data-vswidget="{published.token}"]'
    tab.show(selector)
    assert tab.page.eval_on_selector(selector, OVERFLOWS) == []
    # Every fold open (each reviewer's quotes beside that reviewer): still nothing scrolls
    # or overflows, and every quote is on the page, as text, under its reviewer.
    tab.page.eval_on_selector(
        selector, "h => h.shadowRoot.querySelectorAll('details').forEach(d => d.open = true)"
    )
    assert tab.page.eval_on_selector(selector, OVERFLOWS) == []
    reviewers = tab.page.eval_on_selector(
        selector,
        "h => [...h.shadowRoot.querySelectorAll('li.rev')].map(r => [r.querySelector('.rname')"
        ".textContent, r.querySelectorAll('details.quotes q').length])",
    )
    items = len(server_payload(server, published.token)["items"])
    assert reviewers and all(count == items for _, count in reviewers), reviewers
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= width
    assert tab.errors == []


def server_payload(server: Server, token: str) -> dict[str, Any]:
    return httpx.get(f"{server.base}/v1/payload/{token}", timeout=10).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["seed", "kettle", "ollama"])
def test_the_snippet_holds_about_the_space_the_widget_takes(
    new_tab: Callable[..., Tab], host: Host, server: Server, name: str, width: int
) -> None:
    """Held before the payload comes: never less than the widget takes with this machine's
    widest font (its system-ui), and not much more."""
    published = server.published[name]
    held_tab = new_tab(viewport={"width": width, "height": 800})
    # widget.js answers, but does nothing: the space held before it has run.
    held_tab.page.route(
        "**/widget.js", lambda route: route.fulfill(body="", content_type="text/javascript")
    )
    styled = f'<div style="font-family:system-ui">{published.snippet}</div>'
    open_post(held_tab, host, styled, after="")
    selector = f'[data-vswidget="{published.token}"]'
    held = held_tab.page.eval_on_selector(selector, "e => e.getBoundingClientRect().height")

    tab = new_tab(viewport={"width": width, "height": 800})
    open_post(tab, host, styled, after="")
    tab.show(selector)
    shown = tab.page.eval_on_selector(
        selector, "e => e.shadowRoot.querySelector('section').getBoundingClientRect().height"
    )
    assert shown <= held <= shown * 1.12 + 24, f"held {held} px for a widget of {shown} px"


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("placement", ["first screen", "below the fold"])
def test_nothing_the_reader_sees_moves_when_the_widget_appears(
    new_tab: Callable[..., Tab], host: Host, server: Server, placement: str, width: int
) -> None:
    tab = new_tab(viewport={"width": width, "height": 800})
    published = server.published["seed"]
    open_post(tab, host, published.snippet, before="" if placement == "first screen" else BELOW)
    selector = f'[data-vswidget="{published.token}"]'
    tab.show(selector) if placement == "below the fold" else tab.wait_rendered(selector)
    tab.page.wait_for_load_state("networkidle")
    assert shift(tab) <= 0.01, tab.page.evaluate("window.__shifts")
    scroll_through(tab)
    assert shift(tab) <= 0.01, tab.page.evaluate("window.__shifts")
    # Once out of sight, what was held and not needed has been given back.
    assert tab.page.eval_on_selector(
        selector,
        "e => Math.abs(e.getBoundingClientRect().height -"
        " e.shadowRoot.querySelector('section').getBoundingClientRect().height) < 1",
    )


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("placement", ["first screen", "below the fold"])
def test_a_bad_token_keeps_its_link_and_gives_the_space_back_unseen(
    new_tab: Callable[..., Tab], host: Host, server: Server, placement: str, width: int
) -> None:
    tab = new_tab(viewport={"width": width, "height": 800})
    published = server.published["seed"]
    snippet = published.snippet.replace(published.token, server.bad_token)
    open_post(tab, host, snippet, before="" if placement == "first screen" else BELOW)
    link = tab.page.get_by_role("link", name=SEED_LINK)
    tab.page.locator(f'[data-vswidget="{server.bad_token}"]').scroll_into_view_if_needed()
    tab.page.wait_for_load_state("networkidle")
    assert link.is_visible()
    scroll_through(tab)
    assert shift(tab) <= 0.01, tab.page.evaluate("window.__shifts")
    held = tab.page.eval_on_selector(
        f'[data-vswidget="{server.bad_token}"]', "e => e.getBoundingClientRect().height"
    )
    assert held < 100, "the reserved space is given back once out of sight"


def test_a_server_that_is_down_leaves_the_link_without_the_blank_space(
    tab: Tab, host: Host, server: Server
) -> None:
    published = server.published["seed"]
    snippet = published.snippet.replace(server.base, f"http://127.0.0.1:{server.closed_port}")
    open_post(tab, host, snippet, before=BELOW)
    tab.page.wait_for_load_state("networkidle")
    height = tab.page.eval_on_selector(
        f'[data-vswidget="{published.token}"]', "e => e.getBoundingClientRect().height"
    )
    assert height < 100, "widget.js did not load: its onerror gives the space back"
    assert tab.page.get_by_role("link", name=SEED_LINK).is_visible()
    assert tab.errors == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["seed", "largest"])
def test_the_iframe_form_fits_wordpress_frames_at_every_width(
    new_tab: Callable[..., Tab], server: Server, name: str, width: int
) -> None:
    """The iframe form, which WordPress caps at 1,000 px, fits it with nothing cut."""
    tab = new_tab(viewport={"width": width, "height": 1000})
    tab.page.goto(server.published[name].iframe_url)
    tab.page.wait_for_load_state("networkidle")
    height = tab.page.evaluate("document.documentElement.getBoundingClientRect().height")
    assert height <= 1000, f"{height} px"
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= width
    assert tab.page.get_by_role("button", name=re.compile("^Pick ")).count() == len(
        server_payload(server, server.published[name].token)["items"]
    )
