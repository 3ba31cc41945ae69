"""The dashboard's range form in a German browser: days shown and taken as YYYY-MM-DD.

An ``<input type="date">`` shows the browser's format (06.12.2026 in de-DE). The
dashboard's fields are text written YYYY-MM-DD, as the page, the API and the CLI write
days, so what the form shows can be given to the API and to ``vswidget stats`` as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from vswidget import Client

from .helpers import Server, Tab, assert_no_errors, expect

pytestmark = pytest.mark.browser

GERMAN = {"locale": "de-DE", "timezone_id": "Europe/Berlin"}


def days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def copied(field: Any) -> str:
    """What a reader copies from a text field after selecting all of it."""
    field.select_text()
    return str(field.evaluate("(f) => f.value.slice(f.selectionStart, f.selectionEnd)"))


@pytest.fixture
def german_owner(new_tab: Callable[..., Tab], signed_in: dict[str, Any]) -> Tab:
    """A site owner's tab, logged in, in a browser set to German."""
    return new_tab(storage_state=signed_in, **GERMAN)


def test_a_german_browser_shows_the_range_as_yyyy_mm_dd_and_the_form_round_trips(
    german_owner: Tab, server: Server
) -> None:
    page, slug = german_owner.page, server.published["ollama"].slug
    page.goto(f"{server.base}/dashboard/c/{slug}?days=7")
    assert page.evaluate("navigator.language") == "de-DE"
    assert page.evaluate("new Date(Date.UTC(2026, 11, 6)).toLocaleDateString()") == "6.12.2026"
    since, until = page.get_by_label("From"), page.get_by_label("to", exact=True)
    expect(since).to_have_value(days_ago(6))
    expect(until).to_have_value(days_ago(0))
    for field in (since, until):
        expect(field).to_have_attribute("type", "text")  # shown as written, not as 06.12.2026
        expect(field).to_have_attribute("placeholder", "YYYY-MM-DD")
        expect(field).to_have_accessible_description("(YYYY-MM-DD, UTC)")

    since.fill(days_ago(3))
    until.fill(days_ago(1))
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        f"{server.base}/dashboard/c/{slug}?since={days_ago(3)}&until={days_ago(1)}"
    )
    expect(page.locator(".dash-head p").first).to_contain_text(
        f"{days_ago(3)} to {days_ago(1)} (UTC) · 3 days"
    )
    expect(since).to_have_value(days_ago(3))
    expect(until).to_have_value(days_ago(1))
    assert_no_errors(german_owner)


def test_a_day_in_the_browsers_own_format_is_not_sent(german_owner: Tab, server: Server) -> None:
    page = german_owner.page
    address = f"{server.base}/dashboard/c/{server.published['ollama'].slug}?days=7"
    page.goto(address)
    since = page.get_by_label("From")
    since.fill("06.12.2026")
    page.get_by_role("button", name="Show").click()
    assert since.evaluate("(field) => field.validity.patternMismatch") is True
    expect(page).to_have_url(address)  # the browser kept the form: nothing was sent


def test_the_api_and_the_cli_take_the_days_copied_from_the_dashboard(
    german_owner: Tab, server: Server
) -> None:
    page, slug = german_owner.page, server.published["ollama"].slug
    page.goto(f"{server.base}/dashboard/c/{slug}?days=30")
    first, last = copied(page.get_by_label("From")), copied(page.get_by_label("to", exact=True))
    assert date.fromisoformat(last) - date.fromisoformat(first) == timedelta(days=29)

    with Client(server.base, server.key) as client:
        found = client.stats(slug, first, last)
    assert (found.since, found.until) == (first, last)
    assert [day["day"] for day in found.days][::29] == [first, last]

    shown = server.cli(
        "stats", slug, "--since", first, "--until", last, "--url", server.base,
        "--api-key", server.key,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"{slug}: {first} to {last}"
