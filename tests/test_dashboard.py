"""The site owners' dashboard: login, figures from rollups, share links, and its defences."""

from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from helpers import PASSWORD, SECRET, csrf_of, log_in, make_app, new_publisher, statements_of
from helpers import event_row as event
from itsdangerous import URLSafeTimedSerializer
from live import LiveServer
from sqlalchemy import func, insert, select, update

from vswidget import Client
from vswidget.cli import main
from vswidget.fields import DAY_PATTERN, NOT_A_DAY
from vswidget.server import analytics, models, signing, store
from vswidget.server.extensions import db
from vswidget.server.models import utcnow
from vswidget.server.views.dashboard.inputs import MAX_PAGE

# Failed logins count in windows of the clock: these tests run within one.
pytestmark = pytest.mark.usefixtures("one_login_window")

SLUG = "kettle-vs-moka-pot"
PAGE = f"/dashboard/c/{SLUG}"
BLOG = "https://blog.example"
OTHER = "https://other.example"


# -- helpers ------------------------------------------------------------------------


def seed(app: Flask, events: list[dict[str, Any]]) -> None:
    with app.app_context():
        store.add_events(events)
        analytics.roll_up_all()


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts, and every form."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.forms: list[dict[str, str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in {"td", "th"} and self.tables:
            self._cell = []
        elif tag == "form":
            self.forms.append({name: value or "" for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None and self.tables:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parsed(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def row(html: str, first_cell: str, column: str | None = None) -> list[str]:
    """Return the cells of the table row whose first cell starts with ``first_cell``,
    in the first table that has a ``column`` heading (any table without)."""
    for table in parsed(html).tables:
        if column is not None and column not in table[0]:
            continue
        for cells in table:
            if cells and cells[0].startswith(first_cell):
                return cells[1:]
    raise AssertionError(f"no row starts with {first_cell!r}")


def figure(html: str, name: str) -> str:
    found = re.search(rf'dash-f-{name}">\s*<dt>.*?</dt>\s*<dd>([^<]*)</dd>', html, re.S)
    assert found, name
    return found[1]


def rate(html: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt>\s*<dd>([^<]*)</dd>", html)
    assert found, label
    return found[1]


def is_logged_in(client: FlaskClient) -> bool:
    return client.get("/dashboard/").status_code == 200


def share(client: FlaskClient, days: str = "7", origin: str = "") -> str:
    """Create a share link through the page's form; return its path."""
    token = csrf_of(client, PAGE)
    response = client.post(f"{PAGE}/share", data={"csrf": token, "days": days, "origin": origin})
    assert response.status_code == 200, response.text
    found = re.search(r'id="share-url" class="dash-copy" value="([^"]+)"', response.text)
    assert found
    return urlsplit(found[1]).path


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def seeded(app: Flask, comparison_id: int) -> int:
    """Two host sites, three pages, every kind of event, over three days and one long ago."""
    events = [
        *(event(comparison_id, "impression", 0, visitor=v) for v in "abcd"),
        *(event(comparison_id, "view", 0, visitor=v) for v in "ab"),
        event(comparison_id, "vote", 0, visitor="a", item="moka"),
        event(comparison_id, "click", 0, visitor="b", item="kettle"),
        event(comparison_id, "impression", 0, visitor="e", path="/other-post"),
        event(comparison_id, "impression", 1, visitor="c", origin=OTHER, path="/review"),
        event(comparison_id, "view", 1, visitor="c", origin=OTHER, path="/review"),
        event(comparison_id, "vote", 1, visitor="c", origin=OTHER, path="/review", item="kettle"),
        event(comparison_id, "signup", 1, visitor="c", origin=OTHER, path="/review"),
        event(comparison_id, "impression", 10, visitor="f"),
        event(comparison_id, "impression", 40, visitor="old"),
    ]
    seed(app, events)
    return comparison_id


@pytest.fixture
def other_publisher(app: Flask, document: dict[str, Any]) -> Iterator[int]:
    """Another publisher, with a comparison of the same slug and one of its own."""
    key = new_publisher(app, "rival")
    import httpx

    with Client("http://vs.test", key, transport=httpx.WSGITransport(app=app)) as rival:
        rival.publish({**document, "title": "Rival's kettle"})
        rival.publish({**document, "slug": "rivals-only", "title": "Rival only"})
    with app.app_context():
        rival_id = store.get_comparison(store.get_publisher("rival"), "rivals-only").id
    seed(app, [event(rival_id, "view", 0, visitor=v) for v in "xyz"])
    yield rival_id


# -- login, sessions, CSRF ---------------------------------------------------------------------


def test_the_dashboard_redirects_to_the_login_page_keeping_where_you_were_going(
    client: FlaskClient, comparison_id: int
) -> None:
    response = client.get(f"{PAGE}?days=7")
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/dashboard/login"
    assert parse_qs(location.query)["next"] == [f"{PAGE}?days=7"]


def test_logging_in_sets_a_private_session_cookie_and_goes_where_you_were_going(
    client: FlaskClient, comparison_id: int
) -> None:
    token = csrf_of(client, f"/dashboard/login?next={PAGE}")
    response = client.post(
        "/dashboard/login",
        data={"csrf": token, "handle": "acme", "password": PASSWORD, "next": PAGE},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # PUBLIC_URL is http:// in tests
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/dashboard/", "/dashboard/\\evil", "/api/v1/x", ""],
)
def test_login_goes_only_to_dashboard_paths_on_this_site(
    client: FlaskClient, comparison_id: int, target: str
) -> None:
    token = csrf_of(client)
    response = client.post(
        "/dashboard/login",
        data={"csrf": token, "handle": "acme", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"


def test_a_wrong_password_fails_without_saying_why(client: FlaskClient, comparison_id: int) -> None:
    wrong = log_in(client, "acme", "not the password at all")
    unknown = log_in(client, "nobody-here", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "The handle or the password is not right." in response.text
    assert "nobody" not in wrong.text and "exist" not in unknown.text
    assert not is_logged_in(client)


def test_a_publisher_without_a_password_cannot_log_in(app: Flask, client: FlaskClient) -> None:
    new_publisher(app, "nopass")
    response = log_in(client, "nopass", "")
    assert "The handle or the password is not right." in response.text
    assert not is_logged_in(client)


def test_the_session_cookie_is_secure_when_the_public_url_is_https(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path, PUBLIC_URL="https://vs.example")
    try:
        with app.app_context():
            store.create_publisher("acme")
            store.set_password("acme", PASSWORD)
        response = log_in(app.test_client())
        assert response.status_code == 303
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        db.dispose(app)


def test_sessions_are_signed_with_the_newest_key_and_survive_a_key_rotation(
    database_url: str, tmp_path: Path
) -> None:
    old, new, elsewhere = (
        f"{name}-key-of-at-least-thirty-two-bytes" for name in ("old", "new", "other")
    )
    before = make_app(database_url, tmp_path, SECRET_KEYS=[old])
    after = make_app(database_url, tmp_path, SECRET_KEYS=[old, new])
    stranger = make_app(database_url, tmp_path, SECRET_KEYS=[elsewhere])
    try:
        assert after.secret_key == new
        assert after.config["SECRET_KEY_FALLBACKS"] == [old]
        with before.app_context():
            store.create_publisher("acme")
            store.set_password("acme", PASSWORD)
        client = before.test_client()
        assert log_in(client).status_code == 303
        cookie = client.get_cookie("vsw_dashboard", path="/dashboard")
        assert cookie is not None
        rotated, foreign = after.test_client(), stranger.test_client()
        for other in (rotated, foreign):
            other.set_cookie("vsw_dashboard", cookie.value, path="/dashboard")
        assert rotated.get("/dashboard/").status_code == 200
        assert foreign.get("/dashboard/").status_code == 303
    finally:
        for app in (before, after, stranger):
            db.dispose(app)


def test_a_login_without_a_csrf_token_is_refused(client: FlaskClient, comparison_id: int) -> None:
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"handle": "acme", "password": PASSWORD})
    assert response.status_code == 400
    assert "nothing was changed" in response.text
    assert response.mimetype == "text/html"
    assert not is_logged_in(client)


def test_a_login_with_another_sessions_csrf_token_is_refused(
    app: Flask, client: FlaskClient, comparison_id: int
) -> None:
    token = csrf_of(app.test_client())
    client.get("/dashboard/login")
    response = client.post(
        "/dashboard/login", data={"csrf": token, "handle": "acme", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert not is_logged_in(client)


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_logout_without_the_right_csrf_token_is_refused_and_keeps_you_logged_in(
    owner: FlaskClient, token: str | None
) -> None:
    data = {} if token is None else {"csrf": token}
    response = owner.post("/dashboard/logout", data=data)
    assert response.status_code == 400
    assert is_logged_in(owner)


def test_a_share_link_without_the_right_csrf_token_is_refused_and_none_is_made(
    owner: FlaskClient,
) -> None:
    response = owner.post(f"{PAGE}/share", data={"csrf": "forged", "days": "7", "origin": ""})
    assert response.status_code == 400
    assert "/dashboard/share/" not in response.text


def test_every_form_carries_the_sessions_csrf_token(owner: FlaskClient) -> None:
    page = owner.get(PAGE).text
    posts = [form for form in parsed(page).forms if form.get("method") == "post"]
    assert len(posts) == 2  # log out, share
    token = csrf_of(owner, PAGE)
    assert page.count(f'name="csrf" value="{token}"') == len(posts)


def test_logging_out_ends_the_session(owner: FlaskClient) -> None:
    assert "Log out" in owner.get("/dashboard/logout").text  # a button, for GET
    response = owner.post("/dashboard/logout", data={"csrf": csrf_of(owner, "/dashboard/")})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/login"
    assert "You are logged out." in owner.get("/dashboard/login").text
    assert not is_logged_in(owner)


def test_a_cookie_saved_before_logout_opens_nothing_afterwards(
    app: Flask, owner: FlaskClient
) -> None:
    saved = owner.get_cookie("vsw_dashboard", path="/dashboard")
    assert saved is not None
    owner.post("/dashboard/logout", data={"csrf": csrf_of(owner, "/dashboard/")})
    replay = app.test_client()
    replay.set_cookie("vsw_dashboard", saved.value, path="/dashboard")
    for path in ("/dashboard/", PAGE, f"{PAGE}.csv"):
        response = replay.get(path)
        assert response.status_code == 303, path
        assert urlsplit(response.headers["Location"]).path == "/dashboard/login"


def test_the_server_keeps_only_a_hash_of_the_session_id(app: Flask, owner: FlaskClient) -> None:
    cookie = owner.get_cookie("vsw_dashboard", path="/dashboard")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    session_id = serializer.loads(cookie.value)["session"]
    with app.app_context():
        stored = db.connection.scalars(select(models.dashboard_sessions.c.id_hash)).all()
    assert stored == [hashlib.sha256(session_id.encode()).hexdigest()]


def test_an_expired_session_opens_nothing_and_the_next_login_deletes_it(
    app: Flask, owner: FlaskClient
) -> None:
    with app.app_context(), db.writing() as sql:
        sql.execute(update(models.dashboard_sessions).values(expires_at=utcnow()))
    assert not is_logged_in(owner)
    log_in(app.test_client())
    with app.app_context():
        assert (
            db.connection.scalar(select(func.count()).select_from(models.dashboard_sessions)) == 1
        )


def test_revoking_an_api_key_keeps_dashboard_sessions(app: Flask, owner: FlaskClient) -> None:
    with app.app_context():
        store.revoke_api_key(store.list_api_keys("acme")[0].prefix)
    assert is_logged_in(owner)


def test_a_new_password_ends_every_existing_session(app: Flask, owner: FlaskClient) -> None:
    with app.app_context():
        store.set_password("acme", "another long password")
    assert not is_logged_in(owner)


def test_failed_logins_are_rate_limited_per_address(
    client: FlaskClient, comparison_id: int
) -> None:
    for _ in range(10):
        assert log_in(client, "acme", "wrong password!").status_code == 200
    refused = log_in(client)  # even the right password, for now
    assert refused.status_code == 429
    assert "Too many failed logins from your address. Try again after" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert not is_logged_in(client)


@pytest.fixture
def live_dashboard(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """``vswidget serve`` with two workers, acme with a password; the limiter in memory."""
    # 10 a day, not a minute: a burst that straddles a minute's end would count in two windows
    server = LiveServer(
        tmp_path, workers=2, DATABASE_URL=database_url, LOGIN_FAILURE_RATE_LIMIT="10/day"
    ).start()
    try:
        server.new_publisher("acme")
        server.cli("publisher", "password", "acme", "--password", PASSWORD)
        yield server
    finally:
        server.stop()


def test_concurrent_wrong_passwords_get_exactly_the_limits_password_checks(
    live_dashboard: LiveServer,
) -> None:
    attempts = 60
    browsers = [httpx.Client(base_url=live_dashboard.base, timeout=60) for _ in range(attempts)]
    tokens = []
    for browser in browsers:
        found = re.search(r'name="csrf" value="([^"]+)"', browser.get("/dashboard/login").text)
        assert found
        tokens.append(found[1])
    start = threading.Barrier(attempts)

    def attempt(browser: httpx.Client, token: str) -> httpx.Response:
        start.wait(timeout=30)
        form = {"csrf": token, "handle": "acme", "password": "a wrong password"}
        return browser.post("/dashboard/login", data=form)

    with ThreadPoolExecutor(attempts) as pool:
        answers = list(pool.map(attempt, browsers, tokens))
    for browser in browsers:
        browser.close()
    checked = [a for a in answers if "The handle or the password is not right." in a.text]
    refused = [a for a in answers if a.status_code == 429]
    assert (len(checked), len(refused)) == (10, attempts - 10)


def test_a_right_password_under_the_limit_logs_in_and_gives_its_place_back(
    app: Flask, client: FlaskClient, comparison_id: int
) -> None:
    for _ in range(9):
        assert log_in(client, "acme", "wrong password!").status_code == 200
    assert log_in(app.test_client()).status_code == 303
    assert log_in(client, "acme", "wrong password!").status_code == 200  # the tenth
    assert log_in(client, "acme", "wrong password!").status_code == 429


@pytest.mark.parametrize(
    "form",
    [
        {"handle": "acme", "password": "x" * 1025},
        {"handle": "Acme Inc", "password": "a wrong password"},
        {"handle": "acme"},
    ],
)
def test_a_login_form_that_cannot_be_read_answers_400_and_counts_no_failure(
    app: Flask, client: FlaskClient, comparison_id: int, form: dict[str, str]
) -> None:
    response = client.post("/dashboard/login", data={"csrf": csrf_of(client), **form})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    with app.app_context():
        assert db.connection.scalar(select(func.count()).select_from(models.login_failures)) == 0


def test_successful_logins_do_not_use_up_the_rate_limit(app: Flask, comparison_id: int) -> None:
    for _ in range(12):  # each a new browser, all from the same address
        assert log_in(app.test_client()).status_code == 303


# -- the overview -------------------------------------------------------------------------------


def test_the_overview_lists_only_my_comparisons_with_their_30_day_figures(
    app: Flask, owner: FlaskClient, seeded: int, other_publisher: int
) -> None:
    page = owner.get("/dashboard/").text
    assert "Rival" not in page and "rivals-only" not in page
    cells = row(page, "Electric Kettle vs Moka Pot")
    # impressions, views, votes, clicks, sign-ups, visitors; the event 40 days ago is out,
    # in the previous 30 days, each cell's change against them
    assert [cell.split()[0] for cell in cells[:6]] == ["7", "3", "2", "1", "1", "7"]
    assert cells[0] == "7 ▲ +6up 6 from 1 in the previous 30 days"
    assert cells[1] == "3 ▲ newnew: none in the previous 30 days"
    assert f'href="{PAGE}"' in page
    assert page.count('class="vsw-spark"') == 1
    assert "Views per day" in page and "visitor-days" in page


def test_the_overview_of_many_comparisons_runs_as_many_sql_statements_as_that_of_one(
    app: Flask, owner: FlaskClient, sdk: Client, document: dict[str, Any], seeded: int
) -> None:
    statements = statements_of(app)

    def statements_of_the_overview(comparisons: int) -> int:
        owner.get("/dashboard/")  # anything a first visit does once is not counted
        statements.clear()
        page = owner.get("/dashboard/").text
        assert page.count('class="vsw-spark"') == comparisons
        return len(statements)

    one = statements_of_the_overview(1)
    for n in range(1, 5):
        sdk.publish({**document, "slug": f"{SLUG}-{n}"})
    with app.app_context():
        acme = store.get_publisher("acme")
        others = [store.get_comparison(acme, f"{SLUG}-{n}").id for n in range(1, 5)]
    seed(app, [event(other, "view", days_ago=n) for n, other in enumerate(others)])
    assert statements_of_the_overview(5) == one


@pytest.mark.parametrize(
    ("query", "status"),
    [("?page=99999999999999999999", 400), ("?page=0", 400), ("?page=two", 400), ("?page=2", 404)],
)
def test_a_page_of_the_overview_that_cannot_exist_answers_a_readable_page(
    owner: FlaskClient, query: str, status: int
) -> None:
    response = owner.get(f"/dashboard/{query}")
    assert response.status_code == status
    assert response.mimetype == "text/html"


def test_the_overview_of_a_publisher_without_comparisons_says_how_to_publish(
    app: Flask, client: FlaskClient
) -> None:
    new_publisher(app, "fresh")
    with app.app_context():
        store.set_password("fresh", PASSWORD)
    log_in(client, "fresh")
    assert "No comparisons yet" in client.get("/dashboard/").text


# -- a comparison's page ------------------------------------------------------------------------


def test_the_comparison_page_shows_the_totals_of_the_range(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    page = owner.get(PAGE).text
    shown = {name: figure(page, name) for name in analytics.COUNTED}
    assert shown == {
        "impressions": "7",
        "views": "3",
        "votes": "2",
        "clicks": "1",
        "signups": "1",
        "visitors": "7",
    }
    assert 'class="vsw-chart"' in page and "<details" in page
    assert row(page, today.isoformat())[:6] == ["5", "2", "1", "1", "0", "5"]


def test_the_comparison_page_shows_conversion_rates_from_views(
    owner: FlaskClient, seeded: int
) -> None:
    page = owner.get(PAGE).text
    assert rate(page, "View → vote") == "67%"
    assert rate(page, "View → click") == "33%"
    assert rate(page, "View → sign-up") == "33%"


def test_rates_are_a_dash_without_views(app: Flask, owner: FlaskClient, comparison_id: int) -> None:
    seed(app, [event(comparison_id, "impression")])
    page = owner.get(PAGE).text
    assert rate(page, "View → vote") == "—"
    assert "no views yet" in page


def test_the_comparison_page_lists_the_embed_locations_busiest_first(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    page = owner.get(PAGE).text
    (locations,) = [t for t in parsed(page).tables if t[0][0] == "Host page"]
    hosts = [cells[0] for cells in locations[1:]]
    assert hosts == [f"{BLOG}/post", f"{BLOG}/other-post", f"{OTHER}/review"]  # ties by name
    ten_days_ago = (today - timedelta(days=10)).isoformat()
    # impressions with their change: the event 40 days ago was on that page
    assert locations[1][1:4] == [
        ten_days_ago,
        today.isoformat(),
        "5 ▲ +4up 4 from 1 in the previous 30 days",
    ]
    assert locations[3][1:] == [(today - timedelta(days=1)).isoformat()] * 2 + [
        "1 ▲ newnew: none in the previous 30 days",
        "1",
        "1",
        "0",
        "1",
        "1",
    ]


def locations(page: str) -> list[list[str]]:
    """The rows of the embed locations' table, its header first."""
    (table,) = [t for t in parsed(page).tables if t[0][0] == "Host page"]
    return table


def test_the_embed_locations_come_100_a_page_with_next_and_previous_links(
    app: Flask, owner: FlaskClient, comparison_id: int
) -> None:
    seed(app, [event(comparison_id, "impression", path=f"/post-{n:03d}") for n in range(105)])
    first = owner.get(PAGE + "?days=7").text
    assert len(locations(first)) == 1 + 100 and "1 to 100 of 105 pages" in first
    assert f'href="{PAGE}?page=2&amp;days=7#pages-h"' in first and "Previous" not in first
    second = owner.get(PAGE + "?days=7&page=2").text
    assert [row[0] for row in locations(second)[1:]] == [
        f"{BLOG}/post-{n:03d}" for n in range(100, 105)
    ]
    assert f'href="{PAGE}?page=1&amp;days=7#pages-h"' in second and "Next" not in second
    assert owner.get(PAGE + "?page=3").status_code == 404
    for wrong in ("0", "-1", "x", "99999999999999999999", "²"):
        assert owner.get(PAGE, query_string={"page": wrong}).status_code == 400, wrong


def test_the_events_of_pages_past_the_cap_and_the_dropped_ones_are_shown(
    app: Flask, owner: FlaskClient, comparison_id: int, today: date
) -> None:
    seed(app, [event(comparison_id, "impression", origin="", path="") for _ in range(3)])
    with app.app_context(), db.writing() as sql:
        sql.execute(
            insert(models.event_days).values(
                comparison_id=comparison_id, day=today, over_budget=7, other_host=2
            )
        )
    page = owner.get(PAGE).text
    assert locations(page)[-1][:5] == ["Other pages", "—", "—", "3", "0"]
    assert "9 events dropped in the range" in page
    assert "7 over a daily budget, 2 from sites this comparison does not take" in page


def test_the_comparison_page_shows_votes_cast_per_item(owner: FlaskClient, seeded: int) -> None:
    page = owner.get(PAGE).text
    kettle, moka = row(page, "Electric Kettle", "Votes cast"), row(page, "Moka Pot", "Votes cast")
    assert [kettle[0].split()[0], *kettle[1:3]] == ["1", "50%", "1"]
    assert [moka[0].split()[0], *moka[1:3]] == ["1", "50%", "0"]
    assert "Share of votes cast" in page
    assert "Votes cast per day for each item" in page


def test_the_community_disagreeing_with_the_panel_is_flagged(
    app: Flask, owner: FlaskClient, comparison_id: int
) -> None:
    with app.app_context():
        for voter in ("a", "b", "c"):
            store.cast_vote(comparison_id, "moka", voter)
        store.cast_vote(comparison_id, "kettle", "d")
    page = owner.get(PAGE).text
    # panel ship (the widget's), panel share of ship verdicts, community, gap
    assert row(page, "Electric Kettle", "Panel share")[:5] == [
        "100%",
        "67%",
        "25%",
        "-42",
        "Disagrees",
    ]
    assert row(page, "Moka Pot", "Panel share")[:5] == ["50%", "33%", "75%", "+42", "Disagrees"]
    assert "Readers prefer <strong>Moka Pot</strong>" in page


def test_a_community_that_agrees_with_the_panel_is_not_flagged(
    app: Flask, owner: FlaskClient, comparison_id: int
) -> None:
    with app.app_context():
        for voter, item in (("a", "kettle"), ("b", "kettle"), ("c", "moka")):
            store.cast_vote(comparison_id, item, voter)
    page = owner.get(PAGE).text
    assert row(page, "Electric Kettle", "Panel share")[:4] == ["100%", "67%", "67%", "+0"]
    assert "Disagrees" not in page


def test_without_votes_the_community_is_a_dash_and_nothing_is_flagged(
    owner: FlaskClient, comparison_id: int
) -> None:
    page = owner.get(PAGE).text
    assert row(page, "Electric Kettle", "Panel share")[:4] == ["100%", "67%", "—", "—"]
    assert "Disagrees" not in page


@pytest.mark.parametrize(
    ("query", "days"),
    [("", 30), ("?days=7", 7), ("?days=30", 30), ("?days=90", 90)],
)
def test_ranges_of_7_30_or_90_days_end_today(
    owner: FlaskClient, seeded: int, query: str, days: int, today: date
) -> None:
    page = owner.get(PAGE + query).text
    since = today - timedelta(days=days - 1)
    assert f"{since.isoformat()} to {today.isoformat()}" in page
    assert f'aria-current="true">{days} days' in page
    per_day = [t for t in parsed(page).tables if t[0][0] == "Day"][0]
    assert len(per_day) == days + 1
    assert figure(page, "impressions") == {7: "6", 30: "7", 90: "8"}[days]


def test_a_custom_range_shows_only_its_days(owner: FlaskClient, seeded: int, today: date) -> None:
    day = (today - timedelta(days=1)).isoformat()
    page = owner.get(f"{PAGE}?since={day}&until={day}").text
    assert figure(page, "impressions") == "1"
    assert figure(page, "signups") == "1"
    assert "aria-current" not in page
    assert f'value="{day}"' in page  # the form shows the range


def test_a_custom_range_with_only_an_end_shows_the_30_days_before_it(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    until = today - timedelta(days=2)
    page = owner.get(f"{PAGE}?until={until.isoformat()}").text
    since = until - timedelta(days=29)
    assert f"{since.isoformat()} to {until.isoformat()}" in page
    assert figure(page, "impressions") == "1"  # the one 10 days ago


@pytest.mark.parametrize(
    "query",
    [
        "?since=yesterday",
        "?since=2025-02-30",
        "?until=2025-13-01",
        "?since=2025-01-10&until=2025-01-01",
        "?since=2020-01-01&until=2025-01-01",
        "?until=0001-01-02",
        "?days=8",
        "?days=",
    ],
)
def test_bad_ranges_answer_a_readable_400_page(owner: FlaskClient, seeded: int, query: str) -> None:
    for path in (PAGE, f"{PAGE}.csv"):
        response = owner.get(path + query)
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert "<h1>That request could not be used</h1>" in response.text


def test_the_csv_export_has_one_row_per_day_with_every_count(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    since = today - timedelta(days=2)
    response = owner.get(f"{PAGE}.csv?since={since.isoformat()}&until={today.isoformat()}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{SLUG}-{since.isoformat()}-{today.isoformat()}.csv"'
    )
    lines = response.text.splitlines()
    assert lines == [
        "day,impressions,views,votes,clicks,signups,visitors",
        f"{since.isoformat()},0,0,0,0,0,0",
        f"{(today - timedelta(days=1)).isoformat()},1,1,1,0,1,1",
        f"{today.isoformat()},5,2,1,1,0,5",
    ]


def test_the_page_links_to_the_csv_of_the_range_it_shows(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    page = owner.get(f"{PAGE}?days=7").text
    since = (today - timedelta(days=6)).isoformat()
    link = re.search(r'href="([^"]+\.csv[^"]*)"', page)
    assert link is not None
    assert link[1] == f"{PAGE}.csv?days=7"
    assert len(owner.get(link[1].replace("&amp;", "&")).text.splitlines()) == 8
    assert since in owner.get(link[1]).text


# -- one way to write a day, and counts grouped -------------------------------------------

# What browsers and people write for a day that is not YYYY-MM-DD (ISO 8601's other forms
# included): the dashboard, the API and the CLI refuse every one alike.
NOT_DAYS = [
    *("20261206", "2026-W49-7", "2026-340", "2026-12-6", "06.12.2026", "12/06/2026"),
    *("2026-12-06T00:00", " 2026-12-06", "\uff12\uff10\uff12\uff16-12-06", "2026-02-30", ""),
]
# A date as it might be printed: 2026-12-06, 6.12.2026, 12/06/26, Dec 6.
LOCAL_DATE = re.compile(
    r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
)


def cli_env(url: str = "http://127.0.0.1:9", key: str = "unused") -> dict[str, str]:
    return {"VSWIDGET_URL": url, "VSWIDGET_API_KEY": key}


def test_the_range_form_takes_days_as_text_written_yyyy_mm_dd_whatever_the_locale(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    page = owner.get(f"{PAGE}?days=7").text
    assert 'type="date"' not in page  # a date field would show the browser's format
    for name, day in (("since", today - timedelta(days=6)), ("until", today)):
        field = re.search(rf'<input id="{name}"[^>]*>', page)
        assert field is not None, name
        for attribute in (
            f'name="{name}"',
            'type="text"',
            f'value="{day.isoformat()}"',
            f'pattern="{DAY_PATTERN}"',
            'placeholder="YYYY-MM-DD"',
            'aria-describedby="range-format"',
            "required",
        ):
            assert attribute in field[0], attribute
    assert '<span class="dash-hint" id="range-format">(YYYY-MM-DD, UTC)</span>' in page


def test_a_day_not_written_yyyy_mm_dd_is_refused_alike_by_the_dashboard_api_and_cli(
    owner: FlaskClient, auth: dict[str, str], runner: CliRunner, seeded: int
) -> None:
    for text in NOT_DAYS:
        query = urlencode({"since": text})
        page = owner.get(f"{PAGE}?{query}")
        assert page.status_code == 400, text
        assert f"since: {NOT_A_DAY}" in html.unescape(page.text), text
        api = owner.get(f"/api/v1/comparisons/{SLUG}/stats?{query}", headers=auth)
        assert api.status_code == 422, text
        assert api.json is not None and api.json["error"]["fields"] == {"since": [NOT_A_DAY]}
        cli = runner.invoke(main, ["stats", SLUG, "--since", text], env=cli_env())
        assert cli.exit_code == 2, text
        assert NOT_A_DAY in cli.stderr, text


def test_the_dashboard_api_and_cli_take_and_print_the_same_yyyy_mm_dd_days(
    owner: FlaskClient,
    auth: dict[str, str],
    runner: CliRunner,
    live_server: str,
    api_key: str,
    seeded: int,
    today: date,
) -> None:
    since, until = (today - timedelta(days=1)).isoformat(), today.isoformat()
    query = f"since={since}&until={until}"
    page = owner.get(f"{PAGE}?{query}").text
    assert f"{since} to {until} (UTC)" in page
    assert f'value="{since}"' in page and f'value="{until}"' in page
    api = owner.get(f"/api/v1/comparisons/{SLUG}/stats?{query}", headers=auth).json
    assert api is not None and (api["since"], api["until"]) == (since, until)
    assert [day["day"] for day in api["days"]] == [since, until]
    assert {page["first_seen"] for page in api["pages"]} <= {since, until}
    shown = runner.invoke(
        main, ["stats", SLUG, "--since", since, "--until", until], env=cli_env(live_server, api_key)
    )
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == f"{SLUG}: {since} to {until}"
    assert [line.split()[0] for line in lines[2:4]] == [since, until]


def test_every_date_the_dashboard_prints_is_yyyy_mm_dd(
    owner: FlaskClient, seeded: int, today: date
) -> None:
    for path in ("/dashboard/", PAGE, f"{PAGE}?days=7", f"{PAGE}?days=90"):
        text = owner.get(path).text
        dates = {found[0] for found in LOCAL_DATE.finditer(text)}
        assert dates and all(re.fullmatch(DAY_PATTERN, day) for day in dates), (path, dates)
        assert today.isoformat() in text, path


def test_counts_of_a_thousand_and_more_are_grouped(
    app: Flask, owner: FlaskClient, comparison_id: int, today: date
) -> None:
    seed(app, [event(comparison_id, "impression", visitor="a") for _ in range(1234)])
    page = owner.get(PAGE).text
    assert figure(page, "impressions") == "1,234"
    assert row(page, today.isoformat(), "Day")[0] == "1,234"  # the figures per day
    assert row(page, BLOG, "Host page")[2].startswith("1,234 ")  # after first and last seen
    assert "Impressions: 1,234" in page  # the chart's description
    assert row(owner.get("/dashboard/").text, "Electric Kettle vs Moka Pot")[0].startswith("1,234 ")
    refused = html.unescape(owner.get("/dashboard/?page=0").text)
    assert f"Must be from 1 to {MAX_PAGE:,}." in refused


# -- another publisher's comparisons ------------------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard/c/rivals-only", "/dashboard/c/rivals-only.csv"])
def test_another_publishers_comparison_is_not_found(
    owner: FlaskClient, other_publisher: int, path: str
) -> None:
    response = owner.get(path)
    assert response.status_code == 404
    assert "You have no comparison with the slug" in response.text
    assert owner.get("/dashboard/c/no-such-thing").text.count("You have no comparison") == 1


def test_a_share_link_for_another_publishers_comparison_cannot_be_made(
    owner: FlaskClient, other_publisher: int
) -> None:
    token = csrf_of(owner, PAGE)
    response = owner.post(
        "/dashboard/c/rivals-only/share", data={"csrf": token, "days": "7", "origin": ""}
    )
    assert response.status_code == 404


def test_the_same_slug_of_another_publisher_shows_my_own_comparison(
    owner: FlaskClient, other_publisher: int
) -> None:
    page = owner.get(PAGE).text
    assert "Rival" not in page and "<h1>Electric Kettle vs Moka Pot</h1>" in page


# -- share links ------------------------------------------------------------------------------


def test_a_share_link_shows_the_figures_read_only_without_a_session(
    app: Flask, owner: FlaskClient, seeded: int, other_publisher: int
) -> None:
    link = share(owner, days="30")
    visitor = app.test_client()
    response = visitor.get(link)
    assert response.status_code == 200
    page = response.text
    assert figure(page, "impressions") == "7" and figure(page, "signups") == "1"
    assert "Read-only view" in page
    assert "<form" not in page and "csrf" not in page
    assert "Share a read-only view" not in page and "Log out" not in page
    assert "Your comparisons" not in page and "Rival" not in page
    assert "Set-Cookie" not in response.headers
    days7 = visitor.get(f"{link}?days=7").text
    assert 'aria-current="true">7 days' in days7


def test_a_share_link_limited_to_a_host_shows_only_that_hosts_figures(
    app: Flask, owner: FlaskClient, seeded: int
) -> None:
    link = share(owner, origin=OTHER)
    page = app.test_client().get(link).text
    assert figure(page, "impressions") == "1"
    assert figure(page, "views") == "1"
    assert figure(page, "signups") == "1"
    assert f"only the figures of <strong>{OTHER}</strong>" in page
    assert BLOG not in page
    assert "Votes over time" not in page  # per-item votes are not kept per host
    csv_lines = app.test_client().get(f"{link}.csv?days=7").text.splitlines()
    assert sum(int(line.split(",")[1]) for line in csv_lines[1:]) == 1


def test_a_share_link_csv_works_without_a_session(
    app: Flask, owner: FlaskClient, seeded: int
) -> None:
    link = share(owner)
    response = app.test_client().get(f"{link}.csv?days=7")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{SLUG}-')
    assert len(response.text.splitlines()) == 8


def test_a_share_link_can_only_be_limited_to_a_host_among_the_embed_locations(
    owner: FlaskClient, seeded: int
) -> None:
    token = csrf_of(owner, PAGE)
    response = owner.post(
        f"{PAGE}/share", data={"csrf": token, "days": "7", "origin": "https://evil.example"}
    )
    assert response.status_code == 400
    assert "embed locations" in response.text


@pytest.mark.parametrize("days", ["0", "365", "", "7; drop"])
def test_a_share_link_must_last_1_7_30_or_90_days(
    owner: FlaskClient, seeded: int, days: str
) -> None:
    token = csrf_of(owner, PAGE)
    response = owner.post(f"{PAGE}/share", data={"csrf": token, "days": days, "origin": ""})
    assert response.status_code == 400


def test_the_share_form_offers_the_host_sites_of_the_range(owner: FlaskClient, seeded: int) -> None:
    page = owner.get(PAGE).text
    assert f'<option value="{BLOG}">' in page and f'<option value="{OTHER}">' in page
    for days in ("1", "7", "30", "90"):
        assert f'<option value="{days}"' in page


def test_a_share_link_expires_after_the_days_chosen(owner: FlaskClient, seeded: int) -> None:
    token = share(owner, days="1").rsplit("/", 1)[1]
    with owner.application.app_context():
        value = signing.unsign(signing.SHARE_LINK, token)
    assert value[1] is None
    assert abs(value[2] - (time.time() + 24 * 3600)) < 60


def test_an_edited_share_link_is_refused(app: Flask, owner: FlaskClient, seeded: int) -> None:
    link = share(owner)
    payload, stamp, signature = link.rsplit("/", 1)[1].split(".")
    with app.app_context():  # the same link, now claiming every host site and a later end
        other = signing.sign(signing.SHARE_LINK, [seeded, None, int(time.time()) + 10**8])
    edited = [
        f"{payload}.{stamp}.{signature[:-2]}xx",
        f"{other.split('.')[0]}.{stamp}.{signature}",
        payload,
    ]
    for token in edited:
        response = app.test_client().get(f"/dashboard/share/{token}")
        assert response.status_code == 403, token
        assert "This share link is not valid" in response.text
        assert app.test_client().get(f"/dashboard/share/{token}.csv").status_code == 403


def test_a_share_link_signed_with_an_unknown_key_is_refused(app: Flask, comparison_id: int) -> None:
    forged = signing.sign(
        signing.SHARE_LINK, [comparison_id, None, int(time.time()) + 3600], keys=["not-ours"]
    )
    response = app.test_client().get(f"/dashboard/share/{forged}")
    assert response.status_code == 403


def test_a_share_link_for_another_purpose_is_refused(app: Flask, comparison_id: int) -> None:
    with app.app_context():
        embed = signing.sign(signing.EMBED_TOKEN, comparison_id)
        wrong_shape = signing.sign(signing.SHARE_LINK, {"id": comparison_id})
    for token in (embed, wrong_shape):
        assert app.test_client().get(f"/dashboard/share/{token}").status_code == 403


def test_an_expired_share_link_is_refused_with_410(app: Flask, comparison_id: int) -> None:
    with app.app_context():
        token = signing.sign(signing.SHARE_LINK, [comparison_id, None, int(time.time()) - 1])
    for path in (f"/dashboard/share/{token}", f"/dashboard/share/{token}.csv"):
        response = app.test_client().get(path)
        assert response.status_code == 410
        assert "This share link expired on" in response.text


def test_a_share_link_older_than_its_purposes_max_age_is_refused_with_410(
    app: Flask, comparison_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = time.time() - 400 * 24 * 3600
    serializer = URLSafeTimedSerializer([SECRET], salt=signing.SHARE_LINK.salt)
    with monkeypatch.context() as patch:
        patch.setattr("itsdangerous.timed.time.time", lambda: long_ago)
        token = serializer.dumps([comparison_id, None, int(time.time()) + 3600])
    response = app.test_client().get(f"/dashboard/share/{token}")
    assert response.status_code == 410


def test_a_share_link_to_a_deleted_comparison_is_not_found(
    app: Flask, owner: FlaskClient, seeded: int, sdk: Client
) -> None:
    link = share(owner)
    sdk.delete(SLUG)
    assert app.test_client().get(link).status_code == 404


# -- what every answer carries ---------------------------------------------------------------


def test_every_dashboard_answer_is_private_unframable_and_unindexed(
    app: Flask, owner: FlaskClient, seeded: int
) -> None:
    link = share(owner)
    answers = [
        owner.get("/dashboard/"),
        owner.get(PAGE),
        owner.get(f"{PAGE}.csv"),
        owner.get(f"{PAGE}?days=3"),
        owner.get("/dashboard/nowhere"),
        app.test_client().get("/dashboard/login"),
        app.test_client().get("/dashboard/"),
        app.test_client().get(link),
        app.test_client().get(f"{link}.csv"),
        app.test_client().get("/dashboard/share/bad.token.here"),
    ]
    for response in answers:
        assert response.headers["Cache-Control"] == "private, no-store", response.request.path
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_unknown_dashboard_pages_are_a_readable_404_once_logged_in(
    client: FlaskClient, comparison_id: int
) -> None:
    assert client.get("/dashboard/nowhere").status_code == 303
    log_in(client)
    response = client.get("/dashboard/nowhere/at/all")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_text_from_publishers_and_readers_is_escaped(
    app: Flask, owner: FlaskClient, sdk: Client, document: dict[str, Any], comparison_id: int
) -> None:
    hostile = '<script>alert("x")</script>'
    document["title"] = f"Kettle {hostile}"
    document["items"][0]["name"] = f"Kettle {hostile}"
    sdk.publish(document)
    seed(
        app,
        [
            event(comparison_id, "view", path=f"/{hostile}"),
            event(comparison_id, "vote", item="kettle"),
            event(comparison_id, "vote", item="<img src=x onerror=alert(1)>"),
        ],
    )
    for page in (owner.get("/dashboard/").text, owner.get(PAGE).text):
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
    assert 'aria-label="Votes cast per day' in owner.get(PAGE).text
    link = share(owner)
    assert "<script>" not in app.test_client().get(link).text


def test_the_page_never_reads_raw_events(
    app: Flask, owner: FlaskClient, comparison_id: int
) -> None:
    with app.app_context():
        store.add_events([event(comparison_id, "impression")])  # not rolled up yet
    assert figure(owner.get(PAGE).text, "impressions") == "0"
    with app.app_context():
        analytics.roll_up_all()
    assert figure(owner.get(PAGE).text, "impressions") == "1"
