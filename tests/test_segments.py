"""Sources, devices and browsers: rolled up per day and host page, read as a top list."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_of, event_row, log_in, new_publisher
from sqlalchemy import select

from vswidget import Client, Segment
from vswidget.cli import main
from vswidget.server import analytics, models, store
from vswidget.server.analytics import Scope
from vswidget.server.extensions import db

SLUG = "kettle-vs-moka-pot"
STATS = f"/api/v1/comparisons/{SLUG}/stats"


@pytest.fixture
def seeded(app: Flask, comparison_id: int) -> int:
    """Readers from three sources and none, on phones and desktops, on two host pages."""
    phone = {"device": "phone", "browser": "safari"}
    desktop = {"device": "desktop", "browser": "chrome"}
    events = [
        *(event_row(comparison_id, "view", referrer="news.example", **phone) for _ in range(3)),
        event_row(comparison_id, "vote", referrer="news.example", item="moka", **phone),
        *(event_row(comparison_id, "view", referrer="search.example", **desktop) for _ in range(2)),
        event_row(comparison_id, "view", referrer="mail.example", path="/other", **desktop),
        event_row(comparison_id, "impression", path="/other", **desktop),
        event_row(comparison_id, "view", path="/other", **desktop),
        event_row(comparison_id, "view", days_ago=1, referrer="news.example"),  # no classes kept
    ]
    with app.app_context():
        store.add_events(events)
        analytics.roll_up_all()
    return comparison_id


def rows(app: Flask, kind: str) -> set[tuple[Any, ...]]:
    table = models.daily_segments.c
    with app.app_context():
        found = db.connection.execute(
            select(
                table.day, table.path, table.value, table.impressions, table.views, table.votes
            ).where(table.kind == kind)
        )
        return {tuple(row) for row in found}


def test_a_day_rolls_up_per_host_page_and_source_device_and_browser(
    app: Flask, seeded: int, today: date
) -> None:
    yesterday = today - timedelta(days=1)
    assert rows(app, "source") == {
        (today, "/post", "news.example", 0, 3, 1),
        (today, "/post", "search.example", 0, 2, 0),
        (today, "/other", "mail.example", 0, 1, 0),
        (today, "/other", "", 1, 1, 0),
        (yesterday, "/post", "news.example", 0, 1, 0),
    }
    assert rows(app, "device") == {
        (today, "/post", "phone", 0, 3, 1),
        (today, "/post", "desktop", 0, 2, 0),
        (today, "/other", "desktop", 1, 2, 0),
    }
    assert rows(app, "browser") == {
        (today, "/post", "safari", 0, 3, 1),
        (today, "/post", "chrome", 0, 2, 0),
        (today, "/other", "chrome", 1, 2, 0),
    }


def test_rolling_up_again_gives_the_same_segments(app: Flask, seeded: int) -> None:
    before = rows(app, "source")
    with app.app_context():
        analytics.roll_up_all()
    assert rows(app, "source") == before


def listed(app: Flask, scope: Scope, limit: int) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        found = analytics.segments(scope, limit)
    return {
        kind: [(each.value, each.views, each.votes, each.share) for each in values]
        for kind, values in found.items()
    }


def test_the_top_values_come_busiest_first_with_shares_of_their_kinds_views(
    app: Flask, seeded: int, today: date
) -> None:
    found = listed(app, Scope(seeded, today - timedelta(days=1), today), limit=10)
    assert found["sources"] == [
        ("news.example", 4, 1, 50),
        ("search.example", 2, 0, 25),
        ("", 1, 0, 13),
        ("mail.example", 1, 0, 13),
    ]
    assert found["devices"] == [("desktop", 4, 0, 57), ("phone", 3, 1, 43)]
    assert found["browsers"] == [("chrome", 4, 0, 57), ("safari", 3, 1, 43)]


def test_what_does_not_fit_in_the_top_is_summed_as_the_others(
    app: Flask, seeded: int, today: date
) -> None:
    found = listed(app, Scope(seeded, today, today), limit=1)
    assert found["sources"] == [("news.example", 3, 1, 43), (None, 4, 0, 57)]
    assert found["devices"] == [("desktop", 4, 0, 57), (None, 3, 1, 43)]


def test_segments_can_be_read_for_one_host_page(app: Flask, seeded: int, today: date) -> None:
    scope = Scope(seeded, today, today, "https://blog.example", "/other")
    found = listed(app, scope, limit=10)
    assert found["sources"] == [("", 1, 0, 50), ("mail.example", 1, 0, 50)]
    assert found["devices"] == [("desktop", 2, 0, 100)]


def test_a_range_without_events_has_no_segments(app: Flask, seeded: int, today: date) -> None:
    since = today - timedelta(days=9)
    assert listed(app, Scope(seeded, since, since), limit=10) == {
        "sources": [],
        "devices": [],
        "browsers": [],
    }


def test_the_stats_api_lists_sources_devices_and_browsers(
    client: FlaskClient, auth: dict[str, str], seeded: int
) -> None:
    answer = client.get(STATS, headers=auth).json
    assert answer["sources"][0] == {
        "value": "news.example",
        "impressions": 0,
        "views": 4,
        "votes": 1,
        "clicks": 0,
        "signups": 0,
        "share": 50,
    }
    assert [row["value"] for row in answer["devices"]] == ["desktop", "phone"]
    assert [row["value"] for row in answer["browsers"]] == ["chrome", "safari"]


def test_the_stats_api_reads_one_host_pages_segments_by_its_url(
    client: FlaskClient, auth: dict[str, str], seeded: int
) -> None:
    url = "https://blog.example/other?utm_source=x#top"
    answer = client.get(STATS, query_string={"host_page": url, "page": 1}, headers=auth).json
    assert [(row["value"], row["views"]) for row in answer["sources"]] == [
        ("", 1),
        ("mail.example", 1),
    ]
    assert answer["totals"]["views"] == 8  # the rest of the report stays the comparison's


@pytest.mark.parametrize("url", ["blog.example/post", "javascript:alert(1)", "https://x:99999/"])
def test_a_host_page_that_is_not_an_http_url_is_refused(
    client: FlaskClient, auth: dict[str, str], seeded: int, url: str
) -> None:
    response = client.get(STATS, query_string={"host_page": url}, headers=auth)
    assert response.status_code == 422
    assert "host_page" in response.json["error"]["fields"]


def test_another_publishers_segments_are_not_found(
    app: Flask, client: FlaskClient, seeded: int
) -> None:
    rival = {"Authorization": "Bearer " + new_publisher(app, "rival")}
    query = {"host_page": "https://blog.example/post"}
    assert client.get(STATS, query_string=query, headers=rival).status_code == 404


def test_the_sdk_returns_segments_typed_and_reads_one_host_page(sdk: Client, seeded: int) -> None:
    stats = sdk.stats(SLUG, host_page="https://blog.example/post")
    assert stats.devices == [
        Segment("phone", 0, 3, 1, 0, 0, 60),
        Segment("desktop", 0, 2, 0, 0, 0, 40),
    ]
    assert [source.value for source in sdk.stats(SLUG).sources][:2] == [
        "news.example",
        "search.example",
    ]


def test_the_cli_prints_sources_devices_and_browsers_as_tables_or_csv(
    runner: CliRunner, live_server: str, api_key: str, seeded: int
) -> None:
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": api_key}
    table = runner.invoke(main, ["stats", SLUG, "--segments"], env=env).stdout.splitlines()
    assert [line.split() for line in table[:2]] == [
        ["sources", "impressions", "views", "votes", "clicks", "signups", "%", "views"],
        ["news.example", "0", "4", "1", "0", "0", "50%"],
    ]
    assert table[3].split()[0] == "(direct)"
    assert [line.split()[0] for line in table[5:8]] == ["devices", "desktop", "phone"]
    one_page = ["stats", SLUG, "--segments", "--csv", "--host-page", "https://blog.example/other"]
    assert runner.invoke(main, one_page, env=env).stdout.splitlines() == [
        "kind,value,impressions,views,votes,clicks,signups,share",
        "sources,,1,1,0,0,0,50",
        "sources,mail.example,0,1,0,0,0,50",
        "devices,desktop,1,2,0,0,0,100",
        "browsers,chrome,1,2,0,0,0,100",
    ]
    refused = runner.invoke(main, ["stats", SLUG, "--segments", "--host-page", "nope"], env=env)
    assert refused.exit_code != 0 and "http" in refused.output


PAGE = f"/dashboard/c/{SLUG}"


def segment_rows(html: str, kind: str) -> list[list[str]]:
    """Return the rows of the dashboard's list of ``kind`` as cell texts, as they are seen
    (not the words a screen reader hears in place of a change's arrow)."""
    html = re.sub(r'<span class="dash-visually-hidden">[^<]*</span>', "", html)
    table = re.search(rf'<table[^>]*aria-labelledby="segments-{kind}-h">(.*?)</table>', html, re.S)
    assert table, kind
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table[1], re.S)
    return [
        [
            " ".join(re.sub("<[^>]+>", "", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", each, re.S)
        ]
        for each in rows[1:]
    ]


def test_the_dashboard_shows_sources_devices_and_browsers_with_their_share_of_views(
    client: FlaskClient, seeded: int
) -> None:
    assert log_in(client).status_code == 303
    html = client.get(PAGE, query_string={"days": 7}).text
    assert segment_rows(html, "sources") == [
        ["news.example", "4 ▲ new", "1", "50%"],
        ["search.example", "2 ▲ new", "0", "25%"],
        ["Direct or unknown", "1 ▲ new", "0", "13%"],
        ["mail.example", "1 ▲ new", "0", "13%"],
    ]
    assert segment_rows(html, "devices") == [
        ["Desktop", "4 ▲ new", "0", "57%"],
        ["Phone", "3 ▲ new", "1", "43%"],
    ]
    assert "Share of views" in html and "never a reader's user agent" in html


def test_each_sources_views_show_their_change_against_the_previous_period(
    client: FlaskClient, seeded: int, today: date
) -> None:
    assert log_in(client).status_code == 303
    html = client.get(PAGE, query_string={"since": str(today), "until": str(today)}).text
    assert segment_rows(html, "sources")[0] == ["news.example", "3 ▲ +2", "1", "43%"]
    assert "up 2 from 1 in the previous day" in html  # what a screen reader hears
    assert "Each value's views with their change against the previous day" in html


def test_the_segments_of_the_last_minutes_show_no_change(client: FlaskClient, seeded: int) -> None:
    assert log_in(client).status_code == 303
    html = client.get(PAGE, query_string={"minutes": 30}).text
    assert segment_rows(html, "sources")[0][1] == "3"
    assert "Each value's views with their change" not in html


def test_the_dashboard_shows_the_segments_of_an_embed_location_chosen_from_a_list(
    client: FlaskClient, seeded: int
) -> None:
    assert log_in(client).status_code == 303
    html = client.get(PAGE, query_string={"host_page": ""}).text
    chooser = re.search(r'<select id="segments-page" name="host_page">(.*?)</select>', html, re.S)
    assert chooser
    assert re.findall(r'<option value="([^"]*)"', chooser[1]) == [
        "",
        "https://blog.example/other",  # the embed locations, most impressions first
        "https://blog.example/post",
    ]
    query = {"host_page": "https://blog.example/other", "days": "30"}
    one_page = client.get(PAGE, query_string=query).text
    assert '<option value="https://blog.example/other" selected>' in one_page
    assert f'href="{PAGE}?host_page=https://blog.example/other&amp;days=7"' in one_page
    assert f'href="{PAGE}?days=30#segments-h">every host page' in one_page
    assert "Of <strong>https://blog.example/other</strong> only" in one_page
    assert segment_rows(one_page, "sources") == [
        ["Direct or unknown", "1 ▲ new", "0", "50%"],
        ["mail.example", "1 ▲ new", "0", "50%"],
    ]
    assert segment_rows(one_page, "browsers") == [["Chrome", "2 ▲ new", "0", "100%"]]


def submitted(page: str, form_class: str, **changed: str) -> str:
    """Return the address a browser asks for when it sends the page's GET form of
    ``form_class`` with ``changed`` fields: the action's path, the query the fields make."""
    form = re.search(
        rf'<form class="{form_class}"[^>]*action="([^"?#]*)[^"]*"[^>]*>(.*?)</form>', page, re.S
    )
    assert form, form_class
    found = re.findall(r'<input[^>]* name="([^"]+)"[^>]* value="([^"]*)"', form[2])
    fields = {name: unescape(value) for name, value in found}
    return f"{unescape(form[1])}?{urlencode(fields | changed)}"


def test_the_custom_range_form_keeps_the_chosen_host_page(
    client: FlaskClient, seeded: int, today: date
) -> None:
    assert log_in(client).status_code == 303
    one_page = client.get(PAGE, query_string={"host_page": "https://blog.example/other"}).text
    since, until = (today - timedelta(days=1)).isoformat(), today.isoformat()
    address = submitted(one_page, "dash-custom", since=since, until=until)
    assert parse_qs(urlsplit(address).query) == {
        "host_page": ["https://blog.example/other"],
        "since": [since],
        "until": [until],
    }
    shown = client.get(address).text
    assert "Of <strong>https://blog.example/other</strong> only" in shown
    assert segment_rows(shown, "browsers") == [["Chrome", "2 ▲ new", "0", "100%"]]
    every_page = client.get(PAGE).text
    assert "host_page" not in urlsplit(submitted(every_page, "dash-custom")).query


def test_a_bad_host_page_answers_a_readable_400_page(client: FlaskClient, seeded: int) -> None:
    assert log_in(client).status_code == 303
    response = client.get(PAGE, query_string={"host_page": "javascript:alert(1)"})
    assert response.status_code == 400
    assert "host_page" in response.text and "alert(1)" not in response.text


def test_a_share_link_of_one_site_shows_its_pages_segments_and_no_other_sites(
    client: FlaskClient, seeded: int
) -> None:
    assert log_in(client).status_code == 303
    form = {"csrf": csrf_of(client, PAGE), "days": "7", "origin": "https://blog.example"}
    created = client.post(f"{PAGE}/share", data=form).text
    found = re.search(r'id="share-url" class="dash-copy" value="([^"]+)"', created)
    assert found
    client.post("/dashboard/logout", data={"csrf": csrf_of(client, PAGE)})
    link = urlsplit(found[1]).path
    mine = client.get(link, query_string={"host_page": "https://blog.example/post"})
    assert segment_rows(mine.text, "devices") == [
        ["Phone", "3 ▲ new", "1", "60%"],
        ["Desktop", "2 ▲ new", "0", "40%"],
    ]
    other = client.get(link, query_string={"host_page": "https://rival.example/post"})
    assert other.status_code == 404
