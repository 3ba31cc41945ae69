"""Events roll up by day; figures come from rollups; raw events are pruned, rollups stay."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from vswidget import Client, analytics, store
from vswidget.cli import main
from vswidget.extensions import db
from vswidget.jobs import maintain
from vswidget.models import DailyTotal, Event
from vswidget.visitors import today

TODAY = today()


def event(comparison_id: int, kind: str, days_ago: int = 0, **values: Any) -> dict[str, Any]:
    return {
        "comparison_id": comparison_id,
        "type": kind,
        "item_key": values.get("item"),
        "origin": values.get("origin", "https://blog.example"),
        "path": values.get("path", "/post"),
        "referrer": None,
        "day": TODAY - timedelta(days=days_ago),
        "visitor": values.get("visitor", "reader-1"),
    }


@pytest.fixture
def comparison_id(app: Flask, sdk: Client, document: dict[str, Any]) -> int:
    sdk.publish(document)
    with app.app_context():
        return store.get_comparison(store.get_publisher("acme"), "kettle-vs-moka-pot").id


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


def test_a_day_rolls_up_into_counts_and_distinct_visitors(app: Flask, seeded: int) -> None:
    with app.app_context():
        (today_row,) = [c for day, c in analytics.series(seeded, TODAY, TODAY)]
    assert today_row == analytics.Totals(
        impressions=3, views=2, votes=1, clicks=1, signups=0, visitors=2
    )


def test_days_without_events_are_zeros(app: Flask, seeded: int) -> None:
    with app.app_context():
        days = analytics.series(seeded, TODAY - timedelta(days=4), TODAY)
    assert [d for d, _ in days] == [TODAY - timedelta(days=n) for n in range(4, -1, -1)]
    assert [c.impressions for _, c in days] == [0, 0, 0, 1, 3]


def test_host_pages_are_listed_with_first_and_last_seen(app: Flask, seeded: int) -> None:
    with app.app_context():
        pages = analytics.pages(seeded, TODAY - timedelta(days=60), TODAY)
    rows = [(p.origin, p.path, p.first_seen, p.last_seen, p.totals.impressions) for p in pages]
    assert rows == [
        ("https://blog.example", "/post", TODAY - timedelta(days=40), TODAY, 3),
        ("https://blog.example", "/other", TODAY, TODAY, 1),
        ("https://other.example", "/post", TODAY - timedelta(days=1), TODAY - timedelta(days=1), 1),
    ]


def test_figures_can_be_limited_to_one_host_site(app: Flask, seeded: int) -> None:
    with app.app_context():
        report = analytics.report(seeded, TODAY - timedelta(days=6), TODAY, "https://other.example")
    assert report["totals"]["impressions"] == 1 and report["totals"]["signups"] == 1
    assert {page["origin"] for page in report["pages"]} == {"https://other.example"}


def test_conversion_rates_are_shares_of_views(app: Flask, seeded: int) -> None:
    with app.app_context():
        report = analytics.report(seeded, TODAY - timedelta(days=6), TODAY)
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


def test_rolling_up_again_gives_the_same_figures(app: Flask, seeded: int) -> None:
    with app.app_context():
        before = analytics.report(seeded, TODAY - timedelta(days=60), TODAY)
        analytics.roll_up_all()
        analytics.roll_up_recent()
        assert analytics.report(seeded, TODAY - timedelta(days=60), TODAY) == before


def test_pruning_deletes_old_raw_events_and_keeps_their_rollups(app: Flask, seeded: int) -> None:
    with app.app_context():
        assert analytics.prune(30) == 1
        oldest = db.session.scalar(select(func.min(Event.day)))
        assert oldest == TODAY - timedelta(days=1)
        rolled = db.session.scalar(select(func.min(DailyTotal.day)))
        assert rolled == TODAY - timedelta(days=40)


def test_maintenance_runs_in_one_process_per_period(app: Flask, comparison_id: int) -> None:
    app.config["ROLLUP_SECONDS"] = 60
    with app.app_context():
        store.add_events([event(comparison_id, "view")])
        maintain()
        store.add_events([event(comparison_id, "view", visitor="b")])
        maintain()  # within the period: another process's turn, nothing rolled up
        (counts,) = [c for _, c in analytics.series(comparison_id, TODAY, TODAY)]
    assert counts.views == 1


def test_a_lease_is_held_until_it_ends(app: Flask) -> None:
    with app.app_context():
        assert store.take_lease("job", 60)
        assert not store.take_lease("job", 60)
        assert store.take_lease("other-job", 60)
        assert store.take_lease("short", -1) and store.take_lease("short", 60)


def test_the_stats_api_answers_the_range(sdk: Client, seeded: int) -> None:
    stats = sdk.stats("kettle-vs-moka-pot", since=TODAY - timedelta(days=1), until=TODAY)
    assert (stats.since, stats.until) == (str(TODAY - timedelta(days=1)), str(TODAY))
    assert [day["impressions"] for day in stats.days] == [1, 3]
    assert stats.totals["visitors"] == 3
    assert len(stats.pages) == 3


def test_the_stats_default_to_the_last_30_days(sdk: Client, seeded: int) -> None:
    stats = sdk.stats("kettle-vs-moka-pot")
    assert len(stats.days) == 30 and stats.until == str(TODAY)
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
    from conftest import new_publisher

    rival = {"Authorization": "Bearer " + new_publisher(app, "rival")}
    assert (
        client.get("/api/v1/comparisons/kettle-vs-moka-pot/stats", headers=rival).status_code == 404
    )


def test_the_cli_prints_stats_as_a_table_json_or_csv(
    runner: CliRunner, live_server: str, api_key: str, seeded: int
) -> None:
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": api_key}
    since = ["--since", str(TODAY - timedelta(days=1))]
    table = runner.invoke(main, ["stats", "kettle-vs-moka-pot", *since], env=env).stdout
    assert "impressions" in table and "conversion: view to vote 33%" in table
    assert table.splitlines()[-3].split()[:3] == ["total", "4", "3"]
    as_json = json.loads(
        runner.invoke(main, ["stats", "kettle-vs-moka-pot", "--json"], env=env).stdout
    )
    assert as_json["totals"]["votes"] == 1
    as_csv = runner.invoke(main, ["stats", "kettle-vs-moka-pot", "--csv", *since], env=env).stdout
    assert as_csv.splitlines() == [
        "day,impressions,views,votes,clicks,signups,visitors",
        f"{TODAY - timedelta(days=1)},1,1,0,0,1,1",
        f"{TODAY},3,2,1,1,0,2",
    ]


def test_an_event_day_is_the_servers_utc_day(
    app: Flask, client: Any, auth: dict[str, str], seeded: int
) -> None:
    token = client.get("/api/v1/comparisons/kettle-vs-moka-pot/embed", headers=auth).json["token"]
    body = {"page": "https://blog.example/x", "events": [{"type": "view", "token": token}]}
    client.post("/v1/events", data=json.dumps(body), headers={"User-Agent": "Mozilla/5.0 test"})
    with app.app_context():
        assert db.session.scalar(select(func.max(Event.day))) == today()
