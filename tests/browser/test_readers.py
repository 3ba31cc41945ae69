"""Readers act in the widget on a host page: they vote, sign up and follow item links.

Each test publishes its own copy of the Ollama comparison, so the counts, sign-ups and
events it checks are its own. What the widget shows is checked against what the server
says afterwards: the public payload, the publisher's SDK, and (for events, which no API
reads back yet) the server's SQLite database.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from typing import Any

import httpx
import pytest

from vswidget import Client
from vswidget.client import Published

from .helpers import HUMAN_USER_AGENT, OLLAMA, WAIT, Host, Server, Tab, expect

pytestmark = pytest.mark.browser

# Another reader at the same address: another browser, so another visitor hash.
OTHER_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)
ITEM_URL = {item["key"]: item["url"] for item in OLLAMA["items"]}
ITEM_NAME = {item["key"]: item["name"] for item in OLLAMA["items"]}

_slugs = itertools.count(1)


@pytest.fixture
def comparison(server: Server) -> Published:
    """A fresh copy of the Ollama comparison: no votes, sign-ups or events but this test's."""
    with Client(server.base, server.key) as client:
        return client.publish(OLLAMA | {"slug": f"readers-{next(_slugs)}"})


# -- what the server says ------------------------------------------------------------


def payload(server: Server, token: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.base}/v1/payload/{token}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def server_shares(server: Server, token: str) -> dict[str, str]:
    """The community shares of the public payload, as the widget would print them."""
    return {item["key"]: f"{item['community']}%" for item in payload(server, token)["items"]}


def server_votes(server: Server, token: str) -> dict[str, int]:
    """The reader votes of the public payload: each item's, and the total under "votes"."""
    data = payload(server, token)
    return {item["key"]: item["votes"] for item in data["items"]} | {"votes": data["votes"]}


def stored_events(server: Server, slug: str) -> list[tuple[str, str | None, str, str]]:
    """(type, item_key, origin, path) of every event stored for a comparison."""
    with closing(sqlite3.connect(f"file:{server.database}?mode=ro", uri=True)) as db:
        return db.execute(
            "SELECT type, item_key, origin, path FROM events"
            " WHERE comparison_id = (SELECT id FROM comparisons WHERE slug = ?) ORDER BY id",
            (slug,),
        ).fetchall()


def fill(label: str, **values: str) -> str:
    for name, value in values.items():
        label = label.replace("{" + name + "}", value)
    return label


def thanks(labels: dict[str, str], name: str, shares: str) -> str:
    """What the live region says after a vote: the thanks, then the new shares."""
    return f"{fill(labels['voted'], name=name)} {fill(labels['now'], shares=shares)}"


def poll(labels: dict[str, str], votes: int) -> str:
    """The line under the question once there are votes, fewer than 30 here."""
    count = fill(labels["votes_one" if votes == 1 else "votes_other"], n=str(votes))
    return fill(labels["early"], count=count)


# -- what the reader sees --------------------------------------------------------------


def open_post(tab: Tab, host: Host, published: Published, url: str | None = None) -> str:
    """Open a host post holding the comparison's snippet (or ``url``); wait for the widget."""
    url = url or host.page("reader.html", snippet=published.snippet)
    tab.page.goto(url)
    tab.wait_rendered(f'[data-vswidget="{published.token}"]')
    return url


def card(scope: Any, key: str) -> Any:
    """The item card of ``key`` in a widget, or in a frame of the server's page."""
    return scope.locator(f'li.card[data-key="{key}"]')


def vote_button(scope: Any, key: str) -> Any:
    return card(scope, key).locator("button.vote")


def vote(scope: Any, key: str) -> None:
    """Click an item's vote button and wait until the server's answer marks it the pick."""
    vote_button(scope, key).click()
    expect(vote_button(scope, key)).to_have_attribute("aria-pressed", "true")


def shown_shares(scope: Any) -> dict[str, str]:
    return {key: card(scope, key).locator(".community .pct").inner_text() for key in ITEM_URL}


def vote_requests(tab: Tab) -> list[str]:
    return [url for url in tab.requests if url.endswith("/v1/votes")]


def assert_no_errors(tab: Tab, *expected: str) -> None:
    """No uncaught error, no [vswidget] warning, no console error but the ``expected`` ones."""
    assert tab.errors == []
    assert tab.warnings == []
    errors = [text for kind, text in tab.console if kind == "error"]
    assert [text for text in errors if not any(e in text for e in expected)] == []


# -- voting ------------------------------------------------------------------------------


def test_a_vote_shows_the_servers_shares_marks_the_pick_and_is_announced(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    labels = payload(server, comparison.token)["labels"]
    assert shown_shares(widget) == {"ollama": "—", "lm-studio": "—"}

    vote(widget, "ollama")

    note = widget.locator(".foot .note")
    assert note.get_attribute("role") == "status"
    assert note.get_attribute("aria-live") == "polite"
    expect(note).to_have_text(thanks(labels, "Ollama", "Ollama 100%, LM Studio 0%"))
    assert server_votes(server, comparison.token) == {"ollama": 1, "lm-studio": 0, "votes": 1}
    assert shown_shares(widget) == server_shares(server, comparison.token)
    assert shown_shares(widget) == {"ollama": "100%", "lm-studio": "0%"}
    # Each share shows its count ("0 votes" beside the poll's "1 vote so far"), and the line
    # under the question that it can still move.
    assert widget.locator(".community .n").all_inner_texts() == ["1 vote", "0 votes"]
    assert widget.locator(".poll").inner_text() == poll(labels, 1)
    assert vote_button(widget, "ollama").inner_text() == labels["your_pick"]
    assert "chosen" in (card(widget, "ollama").get_attribute("class") or "").split()
    assert vote_button(widget, "lm-studio").get_attribute("aria-pressed") == "false"
    assert "chosen" not in (card(widget, "lm-studio").get_attribute("class") or "").split()
    assert_no_errors(tab)


def test_a_second_vote_moves_the_readers_vote_and_never_adds_one(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    vote(widget, "ollama")

    vote(widget, "lm-studio")

    assert vote_button(widget, "ollama").get_attribute("aria-pressed") == "false"
    assert server_votes(server, comparison.token) == {"ollama": 0, "lm-studio": 1, "votes": 1}
    assert shown_shares(widget) == {"ollama": "0%", "lm-studio": "100%"}
    assert shown_shares(widget) == server_shares(server, comparison.token)
    labels = payload(server, comparison.token)["labels"]
    expect(widget.locator(".foot .note")).to_have_text(
        thanks(labels, "LM Studio", "Ollama 0%, LM Studio 100%")
    )

    # Clicking the pick again sends nothing.
    sent = len(vote_requests(tab))
    vote_button(widget, "lm-studio").click()
    tab.page.wait_for_timeout(300)
    assert len(vote_requests(tab)) == sent
    assert server_votes(server, comparison.token)["votes"] == 1
    assert_no_errors(tab)


def test_after_a_reload_the_reader_still_sees_their_pick_and_a_new_vote_moves_it(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    vote(widget, "ollama")
    stored = tab.page.evaluate(f"JSON.parse(localStorage.getItem('vsw:{comparison.token}'))")
    assert set(stored) == {"item", "receipt", "at"}
    assert stored["item"] == "ollama"

    tab.page.reload()
    tab.wait_rendered(f'[data-vswidget="{comparison.token}"]')

    labels = payload(server, comparison.token)["labels"]
    assert vote_button(widget, "ollama").get_attribute("aria-pressed") == "true"
    assert vote_button(widget, "ollama").inner_text() == labels["your_pick"]
    assert "chosen" in (card(widget, "ollama").get_attribute("class") or "").split()
    with tab.page.expect_request(lambda r: r.url.endswith("/v1/votes")) as sent:
        vote(widget, "lm-studio")
    assert json.loads(sent.value.post_data)["receipt"] == stored["receipt"]
    assert server_votes(server, comparison.token) == {"ollama": 0, "lm-studio": 1, "votes": 1}
    assert shown_shares(widget) == {"ollama": "0%", "lm-studio": "100%"}
    assert_no_errors(tab)


def test_after_a_reload_the_shares_still_count_the_readers_own_vote(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    vote(widget, "ollama")

    tab.page.reload()
    tab.wait_rendered(f'[data-vswidget="{comparison.token}"]')

    labels = payload(server, comparison.token)["labels"]
    assert vote_button(widget, "ollama").get_attribute("aria-pressed") == "true"
    assert widget.locator(".poll").inner_text() == poll(labels, 1)
    assert shown_shares(widget) == server_shares(server, comparison.token)


def test_a_reader_back_with_another_visitor_hash_moves_their_vote_with_the_stored_receipt(
    new_tab: Callable[..., Tab], host: Host, server: Server, comparison: Published
) -> None:
    yesterday = new_tab()
    url = open_post(yesterday, host, comparison)
    vote(yesterday.widget(comparison.token), "ollama")
    storage = yesterday.page.context.storage_state()

    # Another browser version (or another day): the server cannot tell it is the same
    # reader, but the receipt in their storage can.
    today = new_tab(storage_state=storage, user_agent=OTHER_USER_AGENT)
    open_post(today, host, comparison, url)
    widget = today.widget(comparison.token)
    assert vote_button(widget, "ollama").get_attribute("aria-pressed") == "true"
    vote(widget, "lm-studio")

    assert server_votes(server, comparison.token) == {"ollama": 0, "lm-studio": 1, "votes": 1}
    assert shown_shares(widget) == {"ollama": "0%", "lm-studio": "100%"}
    assert_no_errors(yesterday)
    assert_no_errors(today)


def test_two_readers_each_count_once_and_each_sees_their_own_pick(
    new_tab: Callable[..., Tab], host: Host, server: Server, comparison: Published
) -> None:
    first = new_tab()
    url = open_post(first, host, comparison)
    vote(first.widget(comparison.token), "ollama")

    second = new_tab(user_agent=OTHER_USER_AGENT)
    open_post(second, host, comparison, url)
    widget = second.widget(comparison.token)
    assert shown_shares(widget) == {"ollama": "100%", "lm-studio": "0%"}
    assert vote_button(widget, "ollama").get_attribute("aria-pressed") == "false"
    vote(widget, "lm-studio")

    assert server_votes(server, comparison.token) == {"ollama": 1, "lm-studio": 1, "votes": 2}
    assert shown_shares(widget) == {"ollama": "50%", "lm-studio": "50%"}
    labels = payload(server, comparison.token)["labels"]
    assert widget.locator(".poll").inner_text() == poll(labels, 2)

    # The first reader's next visit shows both votes, and their own pick: a new context
    # with the same storage and browser, whose HTTP cache is empty. (A reload of the first
    # tab may show the payload cached before the second vote for up to a minute: other
    # readers' votes reach a page as fast as the cache allows, the reader's own at once.)
    back = new_tab(storage_state=first.page.context.storage_state())
    open_post(back, host, comparison, url)
    widget = back.widget(comparison.token)
    assert shown_shares(widget) == {"ollama": "50%", "lm-studio": "50%"}
    assert vote_button(widget, "ollama").get_attribute("aria-pressed") == "true"
    assert vote_button(widget, "lm-studio").get_attribute("aria-pressed") == "false"
    for tab in (first, second, back):
        assert_no_errors(tab)


def test_voting_works_in_the_iframe_form_in_a_scripts_only_sandbox_without_storage(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    tab.page.goto(
        host.page(
            "reader-iframe.html",
            token=comparison.token,
            height=str(comparison.height),
            title=OLLAMA["title"],
        )
    )
    frame = tab.page.frame_locator("#frame")
    expect(frame.get_by_role("heading", name=OLLAMA["title"])).to_be_visible()
    inner = next(f for f in tab.page.frames if "/embed/" in f.url)
    storage = inner.evaluate(
        "() => { try { return localStorage.length; } catch (e) { return e.name; } }"
    )
    assert storage == "SecurityError", "an allow-scripts sandbox has an opaque origin: no storage"

    vote(frame, "ollama")
    assert server_votes(server, comparison.token) == {"ollama": 1, "lm-studio": 0, "votes": 1}
    assert shown_shares(frame) == {"ollama": "100%", "lm-studio": "0%"}
    vote(frame, "lm-studio")  # the pick lasts as long as the page

    assert server_votes(server, comparison.token) == {"ollama": 0, "lm-studio": 1, "votes": 1}
    assert shown_shares(frame) == server_shares(server, comparison.token)
    labels = payload(server, comparison.token)["labels"]
    expect(frame.locator(".foot .note")).to_have_text(
        thanks(labels, "LM Studio", "Ollama 0%, LM Studio 100%")
    )
    assert_no_errors(tab)


# -- the newsletter form ---------------------------------------------------------------


def signups(server: Server, slug: str) -> list[str]:
    with Client(server.base, server.key) as client:
        return [signup.email for signup in client.signups(slug)]


def signup_requests(tab: Tab) -> list[str]:
    return [url for url in tab.requests if url.endswith("/v1/signups")]


def error_of(widget: Any, field: Any) -> Any:
    """The message element a field's aria-describedby names."""
    return widget.locator(f"#{field.get_attribute('aria-describedby')}")


def focused(tab: Tab) -> str:
    """The id (or class) of the element with the focus, inside the widget's shadow root."""
    return tab.page.evaluate(  # type: ignore[no-any-return]
        """() => {
          let el = document.activeElement;
          while (el && el.shadowRoot && el.shadowRoot.activeElement) {
            el = el.shadowRoot.activeElement;
          }
          return el.id || el.className || el.tagName;
        }"""
    )


def test_a_bad_email_address_is_flagged_next_to_the_field_and_nothing_is_stored(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    labels = payload(server, comparison.token)["labels"]
    email, consent = widget.locator("#vsw-email"), widget.locator("#vsw-consent")
    submit = widget.get_by_role("button", name=labels["subscribe"])
    message = error_of(widget, email)
    expect(message).to_be_hidden()

    # The widget's own check: no "@" at all. Nothing is sent.
    email.fill("reader.example.com")
    consent.check()
    submit.click()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(message).to_be_visible()
    assert message.inner_text() == labels["invalid_email"]
    assert consent.get_attribute("aria-invalid") == "false"
    assert focused(tab) == "vsw-email"
    assert signup_requests(tab) == []

    # The server's check: an "@" but no valid domain; its 422 shows the same words.
    email.fill("reader@example")
    with tab.page.expect_response(lambda r: r.url.endswith("/v1/signups")) as answer:
        submit.click()
    assert answer.value.status == 422
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_text(labels["invalid_email"])
    expect(message).to_be_visible()

    assert signups(server, comparison.slug) == []
    assert_no_errors(tab, "status of 422")  # Chromium logs the refused request


def test_a_sign_up_without_consent_asks_for_it_and_nothing_is_stored(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    labels = payload(server, comparison.token)["labels"]
    email, consent = widget.locator("#vsw-email"), widget.locator("#vsw-consent")

    email.fill("reader@example.com")
    widget.get_by_role("button", name=labels["subscribe"]).click()

    expect(consent).to_have_attribute("aria-invalid", "true")
    message = error_of(widget, consent)
    expect(message).to_be_visible()
    assert message.inner_text() == labels["need_consent"]
    assert email.get_attribute("aria-invalid") == "false"
    expect(error_of(widget, email)).to_be_hidden()
    assert focused(tab) == "vsw-consent"
    assert signup_requests(tab) == []
    assert signups(server, comparison.slug) == []
    assert_no_errors(tab)


def test_a_good_sign_up_is_stored_and_confirmed_in_place_of_the_form(
    tab: Tab, host: Host, server: Server, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    labels = payload(server, comparison.token)["labels"]

    # A first try without consent, then with it: the error goes, the sign-up is stored.
    widget.locator("#vsw-email").fill("Reader@Example.com")
    widget.get_by_role("button", name=labels["subscribe"]).click()
    expect(widget.locator("#vsw-consent")).to_have_attribute("aria-invalid", "true")
    widget.locator("#vsw-consent").check()
    with tab.page.expect_request(lambda r: r.url.endswith("/v1/signups")) as sent:
        widget.get_by_role("button", name=labels["subscribe"]).click()

    done = widget.locator(".signup .msg")
    expect(done).to_have_text(labels["signup_done"])
    expect(widget.locator(".signup form")).to_have_count(0)
    assert done.get_attribute("role") == "status"
    assert focused(tab) == "msg"
    body = json.loads(sent.value.post_data)
    assert body | {"ticket": "..."} == {
        "ticket": "...",
        "email": "Reader@Example.com",
        "consent": True,
        "website": "",
    }
    stored = signups(server, comparison.slug)
    assert [email.lower() for email in stored] == ["reader@example.com"]
    assert_no_errors(tab)


def test_the_honeypot_field_is_neither_seen_nor_reached_by_people(
    tab: Tab, host: Host, comparison: Published
) -> None:
    open_post(tab, host, comparison)
    widget = tab.widget(comparison.token)
    honeypot = widget.locator("input[name=website]")

    assert honeypot.get_attribute("aria-hidden") == "true"
    assert honeypot.get_attribute("tabindex") == "-1"
    assert honeypot.get_attribute("autocomplete") == "off"
    box = honeypot.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0, f"on screen at {box}"
    # Not in the accessibility tree: the only text box is the email field.
    assert widget.get_by_role("textbox").count() == 1
    assert widget.get_by_role("textbox").get_attribute("id") == "vsw-email"

    # The keyboard goes from the email field through the form and out, never into it.
    widget.locator("#vsw-email").focus()
    reached = [focused(tab)]
    for _ in range(4):
        tab.page.keyboard.press("Tab")
        reached.append(focused(tab))
    assert "hp" not in reached, reached
    assert reached[:3] == ["vsw-email", "btn", "vsw-consent"], reached
    assert_no_errors(tab)


# -- outbound clicks and events ----------------------------------------------------------


def test_an_item_link_opens_the_item_directly_and_its_click_reaches_the_server(
    new_human_tab: Callable[..., Tab], host: Host, server: Server, comparison: Published
) -> None:
    tab = new_human_tab()
    assert tab.page.evaluate("navigator.userAgent") == HUMAN_USER_AGENT
    # The items live on example.com: a local stub answers instead, and tells what was asked.
    fetched: list[str] = []

    def stub(route: Any) -> None:
        fetched.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>The item</title>")

    tab.page.context.route("https://example.com/**", stub)
    post = host.page("reader.html", snippet=comparison.snippet)
    open_post(tab, host, comparison, post + "?utm_source=news#comments")
    widget = tab.widget(comparison.token)
    labels = payload(server, comparison.token)["labels"]

    link = widget.get_by_role("link", name=fill(labels["visit"], name=ITEM_NAME["ollama"]))
    assert link.get_attribute("href") == ITEM_URL["ollama"], "a real link, no redirect"
    assert "noopener" in (link.get_attribute("rel") or "").split()
    assert link.get_attribute("target") == "_blank"
    with tab.page.expect_popup() as opened:
        link.click()
    item = opened.value
    item.wait_for_load_state()
    assert item.url == ITEM_URL["ollama"]
    assert item.evaluate("window.opener") is None  # noopener
    assert fetched == [ITEM_URL["ollama"]]
    item.close()

    tab.page.goto("about:blank")  # the host page is left: its events go out (pagehide)

    page_origin, page_path = host.base, post.removeprefix(host.base)
    deadline = time.monotonic() + WAIT / 1000
    events = stored_events(server, comparison.slug)
    while ("click", "ollama", page_origin, page_path) not in events:
        assert time.monotonic() < deadline, f"no click event stored: {events}"
        time.sleep(0.1)
        events = stored_events(server, comparison.slug)
    assert ("impression", None, page_origin, page_path) in events
    assert {(origin, path) for _, _, origin, path in events} == {(page_origin, page_path)}
    assert [e for e in events if e[0] == "click"] == [("click", "ollama", page_origin, page_path)]
    assert all(url.startswith((host.base, server.base)) for url in tab.requests), tab.requests
    assert_no_errors(tab)
