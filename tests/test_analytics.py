"""Events roll up by day; figures come from rollups; raw events are pruned, rollups stay."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from helpers import event_row as event
from sqlalchemy import func, select

from vswidget import Client
from vswidget.cli import main
from vswidget.server import analytics, models, store, visitors
from vswidget.server.analytics import host_pages
from vswidget.server.extensions import db
from vswidget.server.jobs import maintain


@pytest.fixture
def seeded(app: Flask, comparison_id: int) -> int:
    """Two host pages, three readers, five kinds of event, over three days."""
    events = [
        event(comparison_id, "impression", 0, visitor="a"),
        event(comparison_id, "impression", 0, visitor="b"),
        event(comparison_id, "impression", 0, visitor="b", path="/other"),
        event(comparison_id, "view", 0, visitor="a"),
        event(comparison_id, "view", 0, visitor="b"),
        event(comparison_id, "vote", 0, visitor="a", item="moka"),
        event(comparison_id, "click", 0, visitor="b", item="kettle"),
        event(comparison_id, "impression", 1, visitor="c", origin="https://other.example"),
        event(comparison_id, "view", 1, visitor="c", origin="https://other.example"),
        event(comparison_id, "signup", 1, visitor="c", origin="https://other.example"),
        event(comparison_id, "impression", 40, visitor="old"),
    ]
    with app.app_context():
        store.add_events(events)
        analytics.roll_up_all()
    return comparison_id


def test_a_day_rolls_up_into_counts_and_distinct_visitors(
    app: Flask, seeded: int, today: date
) -> None:
    with app.app_context():
        (today_row,) = [c for day, c in analytics.series(seeded, today, today)]
    assert today_row == analytics.Totals(
        impressions=3, views=2, votes=1, clicks=1, signups=0, visitors=2
    )


def test_days_without_events_are_zeros(app: Flask, seeded: int, today: date) -> None:
    with app.app_context():
        days = analytics.series(seeded, today - timedelta(days=4), today)
    assert [d for d, _ in days] == [today - timedelta(days=n) for n in range(4, -1, -1)]
    assert [c.impressions for _, c in days] == [0, 0, 0, 1, 3]


def test_host_pages_are_listed_with_first_and_last_seen(
    app: Flask, seeded: int, today: date
) -> None:
    with app.app_context():
        pages = analytics.pages(seeded, today - timedelta(days=60), today)
    rows = [(p.origin, p.path, p.first_seen, p.last_seen, p.totals.impressions) for p in pages]
    assert rows == [
        ("https://blog.example", "/post", today - timedelta(days=40), today, 3),
        ("https://blog.example", "/other", today, today, 1),
        ("https://other.example", "/post", today - timedelta(days=1), today - timedelta(days=1), 1),
    ]


def test_figures_can_be_limited_to_one_host_site(app: Flask, seeded: int, today: date) -> None:
    since, site = today - timedelta(days=6), "https://other.example"
    with app.app_context():
        days = analytics.series(seeded, since, today, site)
        pages = analytics.pages(seeded, since, today, site)
    assert sum(counts.impressions for _, counts in days) == 1
    assert sum(counts.signups for _, counts in days) == 1
    assert {page.origin for page in pages} == {site}


def test_conversion_rates_are_shares_of_views(app: Flask, seeded: int, today: date) -> None:
    with app.app_context():
        report, _ = analytics.report(seeded, today - timedelta(days=6), today)
    assert report["totals"]["views"] == 3
    assert report["rates"] == {"view_to_vote": 33, "view_to_click": 33, "view_to_signup": 33}
    assert report["items"] == {
        "moka": {"votes": 1, "clicks": 0},
        "kettle": {"votes": 0, "clicks": 1},
    }


def test_without_views_there_is_no_rate() -> None:
    assert analytics.Totals(impressions=5).rates() == {
        "view_to_vote": None,
        "view_to_click": None,
        "view_to_signup": None,
    }


def test_rolling_up_again_gives_the_same_figures(app: Flask, seeded: int, today: date) -> None:
    with app.app_context():
        before = analytics.report(seeded, today - timedelta(days=60), today)
        analytics.roll_up_all()
        analytics.roll_up_recent()
        assert analytics.report(seeded, today - timedelta(days=60), today) == before


def test_pruning_deletes_old_raw_events_and_keeps_their_rollups(
    app: Flask, seeded: int, today: date
) -> None:
    with app.app_context():
        assert analytics.prune(30) == 1
        oldest = db.connection.scalar(select(func.min(models.events.c.day)))
        assert oldest == today - timedelta(days=1)
        rolled = db.connection.scalar(select(func.min(models.daily_totals.c.day)))
        assert rolled == today - timedelta(days=40)


def test_maintenance_runs_in_one_process_per_period(
    app: Flask, comparison_id: int, today: date
) -> None:
    app.config["ROLLUP_SECONDS"] = 60
    with app.app_context():
        store.add_events([event(comparison_id, "view")])
        maintain()
        store.add_events([event(comparison_id, "view", visitor="b")])
        maintain()  # within the period: another process's turn, nothing rolled up
        (counts,) = [c for _, c in analytics.series(comparison_id, today, today)]
    assert counts.views == 1


def test_a_lease_is_held_until_it_ends(app: Flask) -> None:
    with app.app_context():
        assert store.take_lease("job", 60)
        assert not store.take_lease("job", 60)
        assert store.take_lease("other-job", 60)
        assert store.take_lease("short", -1) and store.take_lease("short", 60)


def test_the_stats_api_answers_the_range(sdk: Client, seeded: int, today: date) -> None:
    stats = sdk.stats("kettle-vs-moka-pot", since=today - timedelta(days=1), until=today)
    assert (stats.since, stats.until) == (str(today - timedelta(days=1)), str(today))
    assert [day["impressions"] for day in stats.days] == [1, 3]
    assert stats.totals["visitors"] == 3
    assert len(stats.pages) == 3


def test_the_stats_default_to_the_last_30_days(sdk: Client, seeded: int, today: date) -> None:
    stats = sdk.stats("kettle-vs-moka-pot")
    assert len(stats.days) == 30 and stats.until == str(today)
    assert stats.totals["impressions"] == 4  # the event of 40 days ago is outside


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=2026-02-30", "since"), ("since=2026-05-02&until=2026-05-01", "since")],
)
def test_a_bad_range_is_refused(
    client: Any, auth: dict[str, str], seeded: int, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/comparisons/kettle-vs-moka-pot/stats?{query}", headers=auth)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_another_publishers_stats_are_not_found(app: Flask, client: Any, seeded: int) -> None:
    from helpers import new_publisher

    rival = {"Authorization": "Bearer " + new_publisher(app, "rival")}
    assert (
        client.get("/api/v1/comparisons/kettle-vs-moka-pot/stats", headers=rival).status_code == 404
    )


def test_the_cli_prints_stats_as_a_table_json_or_csv(
    runner: CliRunner, live_server: str, api_key: str, seeded: int, today: date
) -> None:
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": api_key}
    since = ["--since", str(today - timedelta(days=1))]
    table = runner.invoke(main, ["stats", "kettle-vs-moka-pot", *since], env=env).stdout
    assert "impressions" in table and "conversion: view to vote 33%" in table
    (total,) = [line for line in table.splitlines() if line.startswith("total")]
    assert total.split()[:3] == ["total", "4", "3"]
    as_json = json.loads(
        runner.invoke(main, ["stats", "kettle-vs-moka-pot", "--json"], env=env).stdout
    )
    assert as_json["totals"]["votes"] == 1
    as_csv = runner.invoke(main, ["stats", "kettle-vs-moka-pot", "--csv", *since], env=env).stdout
    assert as_csv.splitlines() == [
        "day,impressions,views,votes,clicks,signups,visitors",
        f"{today - timedelta(days=1)},1,1,0,0,1,1",
        f"{today},3,2,1,1,0,2",
    ]
    pages = runner.invoke(main, ["stats", "kettle-vs-moka-pot", "--pages", "--csv"], env=env)
    assert pages.stdout.splitlines()[1:] == [
        f"https://blog.example,/post,{today},{today},2,2,1,1,0,2",  # the last 30 days
        f"https://blog.example,/other,{today},{today},1,0,0,0,0,1",
        f"https://other.example,/post,{today - timedelta(days=1)},{today - timedelta(days=1)},"
        "1,1,0,0,1,1",
    ]


def test_an_event_day_is_the_servers_utc_day(
    app: Flask, client: Any, auth: dict[str, str], seeded: int, today: date
) -> None:
    token = client.get("/api/v1/comparisons/kettle-vs-moka-pot/embed", headers=auth).json["token"]
    body = {"page": "https://blog.example/x", "events": [{"type": "view", "token": token}]}
    client.post("/v1/events", data=json.dumps(body), headers={"User-Agent": "Mozilla/5.0 test"})
    with app.app_context():
        day = db.connection.scalar(select(models.events.c.day).where(models.events.c.path == "/x"))
    assert today <= day <= visitors.today()  # the server's UTC day while it took the event


# -- sums per host page over any range ----------------------------------------------------

SITES = ("https://blog.example", "https://other.example")
PATHS = ("/post", "/guide", "/2026/11/review")


@pytest.fixture
def months(app: Flask, comparison_id: int) -> int:
    """500 events on six host pages over 70 days with gaps, rolled up."""
    rng = random.Random(6)
    quiet = {3, 4, 5, 17, 30, 31, 32, 33, 34, 35, 36, 50, 69}  # days ago without events
    days = [n for n in range(70) if n not in quiet]
    events = [
        event(
            comparison_id,
            rng.choice(list(analytics.COLUMNS)),
            rng.choice(days),
            origin=rng.choice(SITES),
            path=rng.choice(PATHS),
            visitor=f"reader-{rng.randrange(8)}",
            item=rng.choice(("kettle", "moka")),
        )
        for _ in range(500)
    ]
    with app.app_context():
        store.add_events(events)
        analytics.roll_up_all()
    return comparison_id


def day_sums(comparison_id: int, since: date, until: date, origin: str | None) -> list[Any]:
    """The page sums of a range added up here, in Python, from the daily page rows."""
    found: dict[tuple[str, str], analytics.Page] = {}
    for row in db.connection.execute(
        select(models.daily_pages).where(models.daily_pages.c.comparison_id == comparison_id)
    ):
        if not since <= row.day <= until or origin not in (None, row.origin):
            continue
        page = found.setdefault(
            (row.origin, row.path),
            analytics.Page(row.origin, row.path, row.day, row.day, analytics.Totals()),
        )
        page.first_seen, page.last_seen = (
            min(page.first_seen, row.day),
            max(page.last_seen, row.day),
        )
        page.totals.add(analytics.Totals(*(getattr(row, n) for n in analytics.COUNTED)))
    return sorted(found.values(), key=lambda p: (-p.totals.impressions, p.origin, p.path))


def ranges(today: date) -> Iterator[tuple[date, date]]:
    """Ranges with ragged edges: every start and end a few days apart, and some far ones."""
    for start in range(-3, 80, 4):
        for length in (1, 2, 6, 7, 8, 13, 27, 28, 29, 30, 45, 56, 90):
            since = today - timedelta(days=start)
            yield since, since + timedelta(days=length - 1)
    yield today - timedelta(days=365), today
    yield today - timedelta(days=400), today - timedelta(days=100)  # before every event


def test_page_sums_over_any_range_equal_the_sums_of_their_days(
    app: Flask, months: int, today: date
) -> None:
    with app.app_context():
        for since, until in ranges(today):
            expected = day_sums(months, since, until, None)
            periods = host_pages._periods(months, since, until)
            assert host_pages._page_sums(months, periods, None) == expected, (since, until)
            assert analytics.pages(months, since, until) == expected


def test_page_sums_of_one_host_site_equal_the_sums_of_its_days(
    app: Flask, months: int, today: date
) -> None:
    with app.app_context():
        for since, until in list(ranges(today))[::5]:
            found = analytics.pages(months, since, until, SITES[1])
            assert found == day_sums(months, since, until, SITES[1]), (since, until)


def test_a_long_range_reads_whole_weeks_and_four_weeks(
    app: Flask, months: int, today: date
) -> None:
    since, until = today - timedelta(days=58), today - timedelta(days=2)
    with app.app_context():
        periods = host_pages._periods(months, since, until)
    lengths = [days for days, _ in periods]
    assert 28 in lengths and 7 in lengths and len(periods) < 20
    for days, start in periods:
        assert start == analytics.period_start(start, days)
    assert periods == sorted(periods, key=lambda period: period[1])
    ends = [start + timedelta(days=days) for days, start in periods]
    assert all(end <= start for end, (_, start) in zip(ends, periods[1:], strict=False))


def test_periods_are_weeks_and_four_weeks_from_a_monday() -> None:
    wednesday = date(2026, 11, 25)
    assert analytics.period_start(wednesday, 7) == date(2026, 11, 23)
    assert analytics.period_start(wednesday, 1) == wednesday
    four = analytics.period_start(wednesday, 28)
    assert four.weekday() == 0 and four <= wednesday < four + timedelta(days=28)
    assert analytics.period_start(four + timedelta(days=27), 28) == four


def test_the_period_rows_are_the_sums_of_the_daily_rows_after_each_rollup(
    app: Flask, months: int
) -> None:
    with app.app_context():
        store.add_events([event(months, "view", 1, path="/new"), event(months, "vote", 0)])
        analytics.roll_up_recent()
        expected: dict[tuple[Any, ...], list[Any]] = {}
        for row in db.connection.execute(select(models.daily_pages)):
            for days in (7, 28):
                key = (days, analytics.period_start(row.day, days), row.origin, row.path)
                sums = expected.setdefault(key, [row.day, row.day, analytics.Totals()])
                sums[0], sums[1] = min(sums[0], row.day), max(sums[1], row.day)
                sums[2].add(analytics.Totals(*(getattr(row, n) for n in analytics.COUNTED)))
        stored = {
            (row.days, row.start, row.origin, row.path): [
                row.first_day,
                row.last_day,
                analytics.Totals(*(getattr(row, n) for n in analytics.COUNTED)),
            ]
            for row in db.connection.execute(select(models.period_pages))
        }
    assert stored == expected


def test_a_period_holding_a_day_outside_the_range_is_not_counted(
    app: Flask, months: int, monkeypatch: pytest.MonkeyPatch, today: date
) -> None:
    # As if a rollup added such a day to the period after the range was split up.
    since, until = today - timedelta(days=20), today - timedelta(days=10)
    four = analytics.period_start(since, 28)
    periods = [(28, four), (28, four + timedelta(28))]
    monkeypatch.setattr(host_pages, "_periods", lambda *args: periods)
    with app.app_context():
        wider = host_pages._page_sums(months, periods, None)
        assert min(page.first_seen for page in wider) < since
        assert analytics.pages(months, since, until) == day_sums(months, since, until, None)
