"""Trends: each figure against the previous period of the same length, the last minutes
read from the newest events, and the overview's ranges (issue 17, parts 4 and 6)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from helpers import statements_of
from sqlalchemy import func, select

from vswidget import Client
from vswidget.changes import Change
from vswidget.cli import main
from vswidget.server import analytics, models, store
from vswidget.server.extensions import db
from vswidget.server.models import utcnow
from vswidget.server.views.dashboard import pages

SLUG = "kettle-vs-moka-pot"
PAGE = f"/dashboard/c/{SLUG}"
MINUTE = timedelta(minutes=1)
# A window that crosses midnight UTC: its events are on two days.
UNTIL = datetime(2026, 3, 1, 0, 10, tzinfo=UTC)


def event(comparison_id: int, kind: str, at: datetime, **values: Any) -> dict[str, Any]:
    return {
        "comparison_id": comparison_id,
        "type": kind,
        "item_key": values.get("item"),
        "origin": values.get("origin", "https://blog.example"),
        "path": "/post",
        "referrer": None,
        "day": at.date(),
        "visitor": values.get("visitor", "reader-1"),
        "created_at": at,
    }


@pytest.fixture
def days_ago(today: date) -> Callable[[int], datetime]:
    """Return midnight UTC of the day ``days`` before today."""
    return lambda days: datetime.combine(today - timedelta(days=days), datetime.min.time(), UTC)


def dated(query: str, today: date) -> str:
    """Return ``query`` with each ``{+N}`` or ``{-N}`` written as the day N days from today."""
    return re.sub(r"\{([+-]\d+)\}", lambda n: str(today + timedelta(days=int(n[1]))), query)


def stored(app: Flask, events: list[dict[str, Any]], rolled_up: bool = False) -> None:
    with app.app_context():
        store.add_events(events)
        if rolled_up:
            analytics.roll_up_all()


@pytest.fixture
def lately(app: Flask, comparison_id: int) -> Iterator[int]:
    """Events of the last minutes, not rolled up: 2 impressions, a view and a vote in the
    last 30 minutes, one impression in the 30 before, one an hour and more ago."""
    now = utcnow()
    stored(
        app,
        [
            event(comparison_id, "impression", now - 2 * MINUTE, visitor="a"),
            event(comparison_id, "impression", now - 5 * MINUTE, visitor="b"),
            event(comparison_id, "view", now - 5 * MINUTE, visitor="b"),
            event(comparison_id, "vote", now - 4 * MINUTE, visitor="b", item="moka"),
            event(comparison_id, "impression", now - 40 * MINUTE, visitor="c"),
            event(comparison_id, "impression", now - 70 * MINUTE, visitor="d"),
        ],
    )
    yield comparison_id


# -- a change, in figures and words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "before", "short", "words"),
    [
        (130, 100, "+30%", "up 30% from 100 in the previous period"),
        (50, 200, "−75%", "down 75% from 200 in the previous period"),
        (5, 2, "+3", "up 3 from 2 in the previous period"),  # not "+150%"
        (0, 19, "−19", "down 19 from 19 in the previous period"),
        (0, 20, "−100%", "down 100% from 20 in the previous period"),
        (4, 0, "new", "new: none in the previous period"),
        (7, 7, "±0", "the same as 7 in the previous period"),
        (0, 0, "±0", "the same as 0 in the previous period"),
        (2_500, 1_000, "+150%", "up 150% from 1,000 in the previous period"),
    ],
)
def test_a_count_changes_by_a_percent_or_from_small_counts_by_a_difference(
    now: int, before: int, short: str, words: str
) -> None:
    assert Change(now, before).short == short
    assert Change(now, before).words() == words


def test_a_rate_changes_in_points_and_a_missing_rate_has_no_change() -> None:
    assert Change(40, 33, points=True).short == "+7 pts"
    assert Change(40, 33, points=True).words("the previous 7 days") == (
        "up 7 pts from 33% in the previous 7 days"
    )
    assert Change(0, 0, points=True).short == "±0"
    assert Change(None, 33, points=True).short == "—"
    assert Change(50, None, points=True).direction == "none"


# -- the previous period ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "until", "previous"),
    [
        (date(2026, 3, 1), date(2026, 3, 1), (date(2026, 2, 28), date(2026, 2, 28))),
        (date(2026, 3, 1), date(2026, 3, 7), (date(2026, 2, 22), date(2026, 2, 28))),
        (date(2026, 1, 1), date(2026, 1, 30), (date(2025, 12, 2), date(2025, 12, 31))),
        (date(2024, 3, 1), date(2024, 3, 30), (date(2024, 1, 31), date(2024, 2, 29))),
    ],
)
def test_the_previous_period_is_as_many_days_just_before_the_first(
    since: date, until: date, previous: tuple[date, date]
) -> None:
    assert analytics.previous_range(since, until) == previous


def test_the_stats_api_answers_the_previous_periods_totals_and_rates(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    comparison_id: int,
    today: date,
    days_ago: Callable[[int], datetime],
) -> None:
    stored(
        app,
        [
            event(comparison_id, "view", days_ago(0), visitor="a"),
            event(comparison_id, "vote", days_ago(0), visitor="a", item="moka"),
            event(comparison_id, "view", days_ago(6), visitor="b"),  # the last day before
            event(comparison_id, "view", days_ago(7), visitor="c"),
            event(comparison_id, "vote", days_ago(7), visitor="c", item="moka"),
            event(comparison_id, "view", days_ago(8), visitor="d"),  # before the previous
        ],
        rolled_up=True,
    )
    since, until = today - timedelta(days=5), today
    answer = client.get(
        f"/api/v1/comparisons/{SLUG}/stats?since={since}&until={until}", headers=auth
    ).json
    assert answer["previous"] == {
        "since": str(today - timedelta(days=11)),
        "until": str(today - timedelta(days=6)),
        "totals": {
            "impressions": 0,
            "views": 3,
            "votes": 1,
            "clicks": 0,
            "signups": 0,
            "visitors": 3,
        },
        "rates": {"view_to_vote": 33, "view_to_click": 0, "view_to_signup": 0},
    }


def test_an_empty_previous_period_answers_zeros_and_no_rates(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    comparison_id: int,
    days_ago: Callable[[int], datetime],
) -> None:
    stored(app, [event(comparison_id, "view", days_ago(0))], rolled_up=True)
    previous = client.get(f"/api/v1/comparisons/{SLUG}/stats", headers=auth).json["previous"]
    assert set(previous["totals"].values()) == {0}
    assert previous["rates"] == {
        "view_to_vote": None,
        "view_to_click": None,
        "view_to_signup": None,
    }


# -- the last minutes -------------------------------------------------------------------------


def test_a_window_counts_from_its_start_excluded_to_its_end_included(
    app: Flask, comparison_id: int
) -> None:
    since = UNTIL - 30 * MINUTE  # 23:40 the day before
    stored(
        app,
        [
            event(comparison_id, "view", UNTIL, visitor="end"),  # the last minute's
            event(comparison_id, "view", UNTIL + timedelta(microseconds=1)),  # later: out
            event(comparison_id, "view", since + timedelta(microseconds=1), visitor="a"),
            event(comparison_id, "view", since, visitor="p"),  # the previous window's last
            event(comparison_id, "view", since - 30 * MINUTE, visitor="q"),  # too old: out
            event(comparison_id, "impression", since - 29 * MINUTE, visitor="p"),
        ],
    )
    with app.app_context():
        window = analytics.windows_of([comparison_id], UNTIL, 30)[comparison_id]
    assert (window.since, window.until, window.previous_since) == (
        since,
        UNTIL,
        since - 30 * MINUTE,
    )
    assert len(window.minutes) == 30 and window.minutes[0][0] == since
    views = [counts.views for _, counts in window.minutes]
    assert views == [1] + [0] * 28 + [1]
    assert (window.totals.views, window.totals.visitors) == (2, 2)
    assert window.previous.as_dict() == {
        "impressions": 1,
        "views": 1,
        "votes": 0,
        "clicks": 0,
        "signups": 0,
        "visitors": 1,  # "p", twice
    }


def test_a_windows_visitors_are_distinct_over_the_window_not_summed_over_minutes(
    app: Flask, comparison_id: int
) -> None:
    at = [UNTIL - n * MINUTE for n in range(3)]
    stored(app, [event(comparison_id, "impression", moment, visitor="same") for moment in at])
    with app.app_context():
        window = analytics.windows_of([comparison_id], UNTIL, 30)[comparison_id]
    assert [counts.visitors for _, counts in window.minutes][-3:] == [1, 1, 1]
    assert window.totals.visitors == 1


def test_windows_of_several_comparisons_and_of_one_host_site(
    app: Flask, sdk: Client, document: dict[str, Any], comparison_id: int
) -> None:
    sdk.publish({**document, "slug": "quiet"})
    with app.app_context():
        quiet = store.get_comparison(store.get_publisher("acme"), "quiet").id
    other = "https://other.example"
    stored(
        app,
        [
            event(comparison_id, "view", UNTIL - MINUTE),
            event(comparison_id, "view", UNTIL - MINUTE, origin=other),
        ],
    )
    with app.app_context():
        found = analytics.windows_of([comparison_id, quiet], UNTIL, 5)
        only_other = analytics.windows_of([comparison_id], UNTIL, 5, other)[comparison_id]
    assert found[comparison_id].totals.views == 2
    assert found[quiet].totals == analytics.Totals() and len(found[quiet].minutes) == 5
    assert only_other.totals.views == 1


def test_the_live_stats_api_reads_the_newest_events_per_minute(
    client: FlaskClient, auth: dict[str, str], lately: int
) -> None:
    answer = client.get(f"/api/v1/comparisons/{SLUG}/stats/live", headers=auth).json
    assert answer["totals"] == {
        "impressions": 2,
        "views": 1,
        "votes": 1,
        "clicks": 0,
        "signups": 0,
        "visitors": 2,
    }
    assert answer["rates"]["view_to_vote"] == 100
    assert len(answer["minutes"]) == 30 and answer["minutes"][0]["start"] == answer["since"]
    assert answer["previous"]["until"] == answer["since"]
    assert answer["previous"]["totals"]["impressions"] == 1
    shorter = client.get(f"/api/v1/comparisons/{SLUG}/stats/live?minutes=3", headers=auth).json
    assert len(shorter["minutes"]) == 3 and shorter["totals"]["impressions"] == 1


@pytest.mark.parametrize("minutes", ["0", "61", "half", ""])
def test_live_stats_refuse_minutes_outside_1_to_60(
    app: Flask, client: FlaskClient, auth: dict[str, str], lately: int, minutes: str
) -> None:
    with app.app_context():
        before = db.connection.scalar(select(func.count()).select_from(models.events))
    response = client.get(f"/api/v1/comparisons/{SLUG}/stats/live?minutes={minutes}", headers=auth)
    assert response.status_code == 422
    assert response.json["error"]["fields"]["minutes"]
    with app.app_context():
        assert db.connection.scalar(select(func.count()).select_from(models.events)) == before


def test_the_sdk_reads_the_previous_period_and_the_last_minutes(sdk: Client, lately: int) -> None:
    assert sdk.stats(SLUG).previous["totals"]["impressions"] == 0
    live = sdk.live(SLUG, minutes=10)
    assert live.totals["votes"] == 1 and len(live.minutes) == 10
    assert live.previous["totals"]["impressions"] == 0  # 40 minutes ago is out of 10 + 10


def test_the_cli_prints_each_totals_change_under_it(
    app: Flask,
    runner: CliRunner,
    live_server: str,
    api_key: str,
    comparison_id: int,
    today: date,
    days_ago: Callable[[int], datetime],
) -> None:
    stored(
        app,
        [
            *(event(comparison_id, "view", days_ago(0), visitor=str(n)) for n in range(30)),
            *(event(comparison_id, "view", days_ago(8), visitor=str(n)) for n in range(20)),
            event(comparison_id, "vote", days_ago(0), item="moka"),
        ],
        rolled_up=True,
    )
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": api_key}
    lines = runner.invoke(main, ["stats", SLUG, "--since", str(today - timedelta(days=6))], env=env)
    (change,) = [line for line in lines.stdout.splitlines() if line.startswith("change ")]
    # impressions, views, votes, clicks, sign-ups, visitors
    assert change.split() == ["change", "±0", "+50%", "new", "±0", "±0", "+55%"]
    previous = f"{today - timedelta(days=13)} to {today - timedelta(days=7)}"
    assert f"change: against {previous}; conversion view to vote +3 pts" in lines.stdout


# -- the dashboard ------------------------------------------------------------------------------


def test_each_figure_on_a_comparisons_page_shows_its_change_in_signs_and_words(
    app: Flask,
    owner: FlaskClient,
    comparison_id: int,
    today: date,
    days_ago: Callable[[int], datetime],
) -> None:
    stored(
        app,
        [
            *(event(comparison_id, "view", days_ago(0), visitor=str(n)) for n in range(30)),
            *(event(comparison_id, "view", days_ago(7), visitor=str(n)) for n in range(20)),
            event(comparison_id, "vote", days_ago(0), item="moka"),
        ],
        rolled_up=True,
    )
    page = owner.get(f"{PAGE}?days=7").text
    previous = f"{today - timedelta(days=13)} to {today - timedelta(days=7)}"
    assert f"Changes: against the previous 7 days, {previous}." in page
    assert '<span aria-hidden="true">▲ +50%</span>' in page
    assert "up 50% from 20 in the previous 7 days" in page  # views, for screen readers
    assert "new: none in the previous 7 days" in page  # votes, and moka's votes
    assert "up 3 pts from 0% in the previous 7 days" in page  # view to vote
    assert "Share of votes cast" in page and "share of views that led to each" in page


def test_the_last_30_minutes_of_a_comparisons_page_read_the_newest_events(
    owner: FlaskClient, lately: int
) -> None:
    page = owner.get(f"{PAGE}?minutes=30").text
    assert "The last 30 minutes" in page and "Changes: against the previous 30 minutes" in page
    assert '<a href="/dashboard/c/kettle-vs-moka-pot?minutes=30" aria-current="true">' in page
    assert "up 1 from 1 in the previous 30 minutes" in page  # impressions, not rolled up
    assert "Impressions and views per minute" in page
    assert page.count('class="vsw-hover"') == 2 * 30  # two charts, a minute each
    assert "Download CSV" not in page  # a CSV is per day


def test_the_overview_takes_the_ranges_a_comparisons_page_takes(
    app: Flask,
    owner: FlaskClient,
    comparison_id: int,
    today: date,
    days_ago: Callable[[int], datetime],
) -> None:
    stored(
        app,
        [
            event(comparison_id, "view", days_ago(3)),
            event(comparison_id, "view", days_ago(10)),
        ],
        rolled_up=True,
    )
    week = owner.get("/dashboard/?days=7").text
    assert f"{today - timedelta(days=6)} to {today} (UTC) · 7 days" in week
    assert "the same as 1 in the previous 7 days" in week  # views: 10 days ago
    month = owner.get("/dashboard/").text
    assert "30 days" in month and "new: none in the previous 30 days" in month  # both views
    custom = owner.get(f"/dashboard/?since={today - timedelta(days=10)}&until={today}").text
    assert "11 days" in custom and 'value="' + str(today - timedelta(days=10)) in custom
    for choice in ("?minutes=30", "?days=7", "?days=30", "?days=90"):
        assert f'href="/dashboard/{choice}"' in month


def test_the_overviews_last_30_minutes_read_the_newest_events(
    owner: FlaskClient, lately: int
) -> None:
    page = owner.get("/dashboard/?minutes=30").text
    assert "The last 30 minutes" in page and "Views per minute" in page
    assert "up 1 from 1 in the previous 30 minutes" in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("days=8", "days"),
        ("minutes=15", "minutes"),
        ("minutes=30&days=7", "minutes"),
        ("since=2026-13-01", "since"),
        ("since={+1}&until={+0}", "since"),
        ("since={-500}", "since"),
    ],
)
@pytest.mark.parametrize("path", ["/dashboard/", PAGE])
def test_the_overview_and_a_comparisons_page_refuse_bad_ranges_alike(
    owner: FlaskClient, comparison_id: int, today: date, path: str, query: str, field: str
) -> None:
    response = owner.get(f"{path}?{dated(query, today)}")
    assert response.status_code == 400
    assert field in html.unescape(response.text)


def test_the_overviews_pages_keep_the_range(
    owner: FlaskClient, sdk: Client, document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PER_PAGE", 1)
    sdk.publish({**document, "slug": "second"})
    assert 'href="/dashboard/?page=2&amp;days=7"' in owner.get("/dashboard/?days=7").text
    assert (
        'href="/dashboard/?page=1&amp;minutes=30"'
        in owner.get("/dashboard/?page=2&minutes=30").text
    )


@pytest.mark.parametrize("query", ["?minutes=30", "?days=7"])
def test_the_overview_of_many_comparisons_reads_as_many_statements_as_of_one_in_any_range(
    app: Flask, owner: FlaskClient, sdk: Client, document: dict[str, Any], query: str
) -> None:
    statements = statements_of(app)

    def statements_of_the_overview() -> int:
        owner.get(f"/dashboard/{query}")  # anything a first visit does once is not counted
        statements.clear()
        owner.get(f"/dashboard/{query}")
        return len(statements)

    one = statements_of_the_overview()
    for n in range(3):
        sdk.publish({**document, "slug": f"more-{n}"})
    assert statements_of_the_overview() == one
