"""A comparison that names hosts, in Chromium: its iframe form shows only inside those hosts,
and the widget on any other site fails gently and says why on the console, once.

The host site and the vswidget server both listen on 127.0.0.1: a page opened as
``localhost`` is another host, a page on ``127.0.0.1`` shares our server's host name
(which the hosts rule always allows) but not its origin (which ``frame-ancestors`` names).
(tests/browser/test_wordpress.py: votes in WordPress's sandboxed frame of such a comparison.)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from vswidget import Client
from vswidget.client import Published

from .helpers import OLLAMA, Host, Server, Tab, expect

pytestmark = pytest.mark.browser

_slugs = itertools.count(1)


@pytest.fixture
def limited(server: Server) -> Callable[..., Published]:
    """Publish a fresh copy of the Ollama comparison limited to ``hosts``."""

    def publish(*hosts: str) -> Published:
        with Client(server.base, server.key) as client:
            return client.publish(OLLAMA | {"slug": f"hosts-{next(_slugs)}", "hosts": list(hosts)})

    return publish


def on_localhost(url: str) -> str:
    return url.replace("//127.0.0.1:", "//localhost:", 1)


def framed(host: Host, comparison: Published) -> str:
    """A host page with the comparison's iframe form in WordPress's sandbox."""
    return host.page(
        "reader-iframe.html",
        token=comparison.token,
        height=str(comparison.height),
        title=OLLAMA["title"],
    )


def shown_frames(tab: Tab) -> int:
    """How many frames of the page show a comparison."""
    return sum(frame.locator("section.vsw").count() for frame in tab.page.frames[1:])


def test_the_iframe_form_shows_on_a_listed_host_and_is_refused_on_any_other(
    new_tab: Callable[..., Tab], host: Host, limited: Callable[..., Published]
) -> None:
    comparison = limited("localhost")
    page = framed(host, comparison)

    listed = new_tab()
    listed.page.goto(on_localhost(page))
    frame = listed.page.frame_locator("#frame")
    expect(frame.get_by_role("heading", name=OLLAMA["title"])).to_be_visible()

    other = new_tab()  # 127.0.0.1 on the host site's port: neither a listed host nor our origin
    with other.page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        other.page.goto(page)
    assert shown_frames(other) == 0


def test_voting_in_the_sandboxed_frame_on_a_listed_host_counts(
    tab: Tab, host: Host, server: Server, limited: Callable[..., Published]
) -> None:
    comparison = limited("localhost")
    tab.page.goto(on_localhost(framed(host, comparison)))
    button = tab.page.frame_locator("#frame").locator('li.card[data-key="ollama"] button.vote')
    with tab.page.expect_request(lambda r: r.url.endswith("/v1/votes")) as sent:
        button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert sent.value.header_value("origin") == "null"  # WordPress's sandbox: an opaque origin
    assert votes(server, comparison.token) == 1
    assert tab.warnings == [] and tab.errors == []


def votes(server: Server, token: str) -> int:
    return int(httpx.get(f"{server.base}/v1/payload/{token}", timeout=10).json()["votes"])


def answered(tab: Tab, path: str, act: Callable[[], Any]) -> int:
    """Do ``act`` and return the status of the request to ``path`` it sends."""
    with tab.page.expect_response(lambda r: r.url.endswith(path)) as answer:
        act()
    return int(answer.value.status)


def test_the_widget_on_a_site_the_hosts_leave_out_fails_gently_and_says_why_once(
    tab: Tab, host: Host, server: Server, limited: Callable[..., Published]
) -> None:
    comparison = limited("blog.example")
    labels = httpx.get(f"{server.base}/v1/payload/{comparison.token}", timeout=10).json()["labels"]
    tab.page.goto(on_localhost(host.page("reader.html", snippet=comparison.snippet)))
    tab.wait_rendered()
    widget = tab.widget(comparison.token)
    note = widget.locator(".foot .note")

    for key in ("ollama", "lm-studio", "ollama"):
        vote = widget.locator(f'li.card[data-key="{key}"] button.vote')
        assert answered(tab, "/v1/votes", vote.click) == 403
        expect(note).to_have_text(labels["vote_failed"])
        expect(vote).to_have_attribute("aria-pressed", "false")
    widget.locator("#vsw-email").fill("reader@example.com")
    widget.locator("#vsw-consent").check()
    subscribe = widget.get_by_role("button", name=labels["subscribe"])
    assert answered(tab, "/v1/signups", subscribe.click) == 403
    expect(widget.locator(".signup .msg")).to_have_text(labels["signup_failed"])

    (line,) = tab.warnings  # four refusals, one line
    assert "localhost" in line and "hosts setting" in line
    assert ("warning", line) in tab.console
    assert tab.errors == []
    assert votes(server, comparison.token) == 0
    with Client(server.base, server.key) as client:
        assert client.signups(comparison.slug) == []


# A hostile page frames its own script in a sandbox, so that the vote says Origin: null,
# with the ticket any payload carries; the frame reports the server's answer.
SANDBOXED_VOTE = """([server, ticket]) => new Promise((done) => {
  addEventListener("message", (e) => done(e.data));
  const frame = document.createElement("iframe");
  frame.sandbox = "allow-scripts";
  frame.srcdoc = `<script>
    fetch(${JSON.stringify(server + "/v1/votes")}, {method: "POST", credentials: "omit",
      body: JSON.stringify({ticket: ${JSON.stringify(ticket)}, item: "ollama"})})
      .then((r) => parent.postMessage(r.status, "*"));
  <\\/script>`;
  document.body.append(frame);
})"""


def test_a_sites_own_sandboxed_frame_cannot_vote_with_a_payloads_ticket(
    tab: Tab, host: Host, server: Server, limited: Callable[..., Published]
) -> None:
    comparison = limited("blog.example")
    ticket = httpx.get(f"{server.base}/v1/payload/{comparison.token}", timeout=10).json()["ticket"]
    tab.page.goto(on_localhost(host.page("reader.html", snippet="")))
    assert tab.page.evaluate(SANDBOXED_VOTE, [server.base, ticket]) == 403
    assert votes(server, comparison.token) == 0
