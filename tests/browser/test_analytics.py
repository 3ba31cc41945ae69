"""Embed analytics and the site owners' dashboard, as readers and a site owner use them.

Readers' browsers (``new_human_tab``: the server drops HeadlessChrome's events as a bot's)
open host pages on another origin; what their widgets send is read back from the server's
SQLite ``events`` table. The server's own background job rolls the events up every
``ROLLUP_SECONDS``, as in production, and the site owner sees the figures in Chromium:
logged in through the login form, on the comparison's page, through a share link.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vswidget import Client
from vswidget.client import Published

from .helpers import (
    ARTIFACTS,
    HANDLE,
    OLLAMA,
    WAIT,
    Host,
    Server,
    Tab,
    assert_no_errors,
    axe,
    blocking,
    expect,
    log_in,
)
from .reading import (
    hold_in_view,
    post,
    publish,
    read_as_a_reader,
    rendered,
    stored_events,
    wait_for_events,
)

pytestmark = pytest.mark.browser

ZERO = {
    "Impressions": "0",
    "Views": "0",
    "Votes": "0",
    "Clicks": "0",
    "Sign-ups": "0",
    "Visitors": "0",
}
# What one reader leaves (see read_as_a_reader): an impression, a vote and a view on the
# first page; an impression only on the second, on another origin of the host site.
FIRST_PAGE = ZERO | {"Impressions": "1", "Views": "1", "Votes": "1", "Visitors": "1"}
BOTH_PAGES = ZERO | {"Impressions": "2", "Views": "1", "Votes": "1", "Visitors": "1"}
CSRF_REFUSED = (
    "This form is out of date or did not come from your dashboard, so nothing was "
    "changed. Go back, reload the page and try again."
)
LINK_REFUSED = (
    "This share link is not valid: it was changed, cut short, or signed with a key "
    "this server no longer knows. Ask the site owner for a new one."
)


@pytest.fixture
def comparison(server: Server) -> Published:
    """A comparison of the test's own."""
    return publish(server)


def test_a_widget_below_the_fold_counts_an_impression_once_rendered_and_a_view_once_seen(
    new_human_tab: Callable[..., Tab], host: Host, server: Server, comparison: Published
) -> None:
    tab = new_human_tab()
    url = post(host, far=comparison.snippet)
    tab.page.goto(url + "?utm_source=newsletter#comments", referer="http://news.example/story?id=7")
    tab.page.wait_for_function("() => window.VSWidget && window.VSWidget.loaded")
    tab.page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert not rendered(tab, comparison), "6,200 px below the fold: not loaded yet"
    assert tab.payload_requests() == []

    tab.widget(comparison.token).scroll_into_view_if_needed()
    tab.wait_rendered(f'[data-vswidget="{comparison.token}"]')
    assert tab.payload_requests() == [[comparison.token]]
    hold_in_view(tab, comparison)
    tab.page.goto("about:blank")  # the reader leaves: the page is hidden, the events go out

    path = url.removeprefix(host.base)
    events = wait_for_events(server, comparison.slug, 2)
    assert events == [
        ("impression", host.base, path, "news.example"),
        ("view", host.base, path, "news.example"),
    ]
    assert_no_errors(tab)


def test_a_widget_kept_out_of_view_counts_no_view_and_one_never_loaded_counts_nothing(
    new_human_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    seen, near, far = (publish(server) for _ in range(3))
    tab = new_human_tab()
    url = post(host, top=seen.snippet, near=near.snippet, far=far.snippet)
    tab.page.goto(url)
    tab.wait_rendered(f'[data-vswidget="{seen.token}"]')
    tab.wait_rendered(f'[data-vswidget="{near.token}"]')
    box = tab.widget(near.token).bounding_box()
    assert box is not None and 800 < box["y"] < 800 + 600, "below the fold, within 600 px"
    assert not rendered(tab, far)

    # A reader reads the top of the post for more than a second; the widget there is the
    # control: its view proves the tab counted views all along.
    hold_in_view(tab, seen)
    tab.page.goto("about:blank")

    wait_for_events(server, seen.slug, 2)
    path = url.removeprefix(host.base)
    assert stored_events(server, seen.slug) == [
        ("impression", host.base, path, None),
        ("view", host.base, path, None),
    ]
    assert stored_events(server, near.slug) == [("impression", host.base, path, None)]
    assert stored_events(server, far.slug) == []
    assert tab.payload_requests() == [[seen.token, near.token]]
    assert_no_errors(tab)


# -- the site owner's side ---------------------------------------------------------------


def texts(locator: Any) -> list[str]:
    """The text of each element, as written (not as CSS capitalises it), spaces collapsed."""
    return [" ".join(text.split()) for text in locator.all_text_contents()]


@pytest.fixture
def owner(new_tab: Callable[..., Tab], signed_in: dict[str, Any]) -> Tab:
    """A tab of the site owner, logged in."""
    return new_tab(storage_state=signed_in)


def figures(scope: Any) -> dict[str, str]:
    """The totals a comparison's page shows, by their label."""
    totals = scope.locator("dl.dash-figures").first
    terms = [text.rstrip("*") for text in texts(totals.locator("dt"))]
    counts = texts(totals.locator("dd:not(.dash-change-line)"))  # not each one's change
    return dict(zip(terms, counts, strict=True))


def embed_locations(page: Any) -> list[list[str]]:
    """The rows of the embed locations table: host page, first and last seen, counts."""
    section = page.get_by_role("region", name="Embed locations")
    rows = [texts(row.locator("th, td")) for row in section.locator("tbody tr").all()]
    return [[*row[:3], row[3].split()[0], *row[4:]] for row in rows]  # not impressions' change


def overview_row(page: Any, slug: str) -> dict[str, str]:
    """A comparison's figures on the overview, by column."""
    table = page.locator("table.dash-overview")
    heads = [text.rstrip("*") for text in texts(table.locator("thead th"))]
    row = table.locator("tbody tr").filter(has=page.get_by_text(slug, exact=True))
    cells = [text.split()[0] for text in texts(row.locator("td.num"))]  # not each one's change
    return dict(zip(heads[1:7], cells, strict=True))


def until_shown(tab: Tab, expected: dict[str, str], read: Callable[[Any], Any]) -> None:
    """Reload the page until it shows ``expected``: the rollup runs every ROLLUP_SECONDS."""
    deadline = time.monotonic() + 2 * WAIT / 1000
    while (shown := read(tab.page)) != expected:
        assert time.monotonic() < deadline, f"still shown after {2 * WAIT} ms: {shown}"
        tab.page.wait_for_timeout(250)
        tab.page.reload()


def test_the_dashboard_shows_the_new_figures_after_the_rollup(
    owner: Tab,
    new_human_tab: Callable[..., Tab],
    host: Host,
    server: Server,
    comparison: Published,
) -> None:
    owner.page.goto(f"{server.base}/dashboard/c/{comparison.slug}")
    expect(owner.page.get_by_role("heading", level=1)).to_have_text(OLLAMA["title"])
    assert figures(owner.page) == ZERO
    expect(owner.page.get_by_role("region", name="Embed locations")).to_contain_text(
        "No host page showed this comparison in the range."
    )

    first, second = read_as_a_reader(new_human_tab(), host, server, comparison)

    until_shown(owner, BOTH_PAGES, figures)
    assert texts(owner.page.locator("dl.dash-rates .dash-figure")) == [
        # each with its change: none, as the previous 30 days had no views
        "View → vote 100% —no figure to compare with the previous 30 days 1 of 1 views",
        "View → click 0% —no figure to compare with the previous 30 days 0 of 1 views",
        "View → sign-up 0% —no figure to compare with the previous 30 days 0 of 1 views",
    ]
    today = datetime.now(UTC).date().isoformat()
    assert embed_locations(owner.page) == [
        [first, today, today, "1", "1", "1", "0", "0", "1"],
        [second, today, today, "1", "0", "0", "0", "0", "1"],
    ]
    votes = owner.page.get_by_role("region", name="Votes over time")
    ollama = texts(votes.locator("tbody tr").first.locator("th, td"))
    assert ollama == ["Ollama", "1 ▲ newnew: none in the previous 30 days", "100%", "0"]

    owner.page.get_by_role("link", name="Your comparisons").click()
    expect(owner.page).to_have_url(f"{server.base}/dashboard/")
    assert overview_row(owner.page, comparison.slug) == BOTH_PAGES
    assert_no_errors(owner)


def refusal(tab: Tab) -> tuple[str, str]:
    """The heading and the message of a dashboard error page."""
    section = tab.page.locator("section.dash-error")
    return section.locator("h1").inner_text(), section.locator("p").first.inner_text()


def session_cookie(tab: Tab, server: Server) -> dict[str, Any] | None:
    cookies = tab.page.context.cookies(server.base + "/dashboard/")
    return next((cookie for cookie in cookies if cookie["name"] == "vsw_dashboard"), None)


def test_a_publisher_logs_in_with_the_form_and_lands_on_the_overview_of_their_comparisons(
    tab: Tab, server: Server, password: str
) -> None:
    tab.page.goto(server.base + "/dashboard/")
    expect(tab.page).to_have_url(f"{server.base}/dashboard/login?next=/dashboard/")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Log in to your dashboard")
    tab.page.get_by_label("Publisher handle").fill(HANDLE)
    tab.page.get_by_label("Password").fill(password)
    tab.page.get_by_role("button", name="Log in").click()

    expect(tab.page).to_have_url(server.base + "/dashboard/")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Your comparisons")
    with Client(server.base, server.key) as client:
        every = sorted(summary.slug for summary in client.list())
    slugs = texts(tab.page.locator("table.dash-overview tbody .dash-slug"))
    assert slugs == every[:50]
    for name in ("ollama", "kettle"):
        slug = server.published[name].slug
        row = tab.page.locator("tbody tr").filter(has=tab.page.get_by_text(slug, exact=True))
        expect(row.get_by_role("link")).to_have_attribute("href", f"/dashboard/c/{slug}")
    expect(tab.page.get_by_role("navigation", name="Account")).to_contain_text(HANDLE)
    cookie = session_cookie(tab, server)
    assert cookie is not None
    assert (cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == ("/dashboard", True, "Lax")
    assert_no_errors(tab)


def test_a_wrong_password_or_an_unknown_handle_gets_the_same_generic_error(
    tab: Tab, server: Server, password: str
) -> None:
    alerts = []
    for handle, attempt in ((HANDLE, password + "!"), ("nobody-here", password)):
        tab.page.goto(server.base + "/dashboard/login")
        tab.page.get_by_label("Publisher handle").fill(handle)
        tab.page.get_by_label("Password").fill(attempt)
        tab.page.get_by_role("button", name="Log in").click()
        alert = tab.page.get_by_role("alert")
        expect(alert).to_be_visible()
        alerts.append(alert.inner_text())
        expect(tab.page).to_have_url(server.base + "/dashboard/login")
        expect(tab.page.get_by_label("Publisher handle")).to_have_value(handle)
        expect(tab.page.get_by_label("Password")).to_have_value("")

    assert alerts == ["The handle or the password is not right."] * 2
    tab.page.goto(server.base + "/dashboard/")
    expect(tab.page).to_have_url(f"{server.base}/dashboard/login?next=/dashboard/")
    assert_no_errors(tab)


def test_the_log_out_button_ends_the_session(tab: Tab, server: Server, password: str) -> None:
    log_in(tab, server, password)

    tab.page.get_by_role("navigation", name="Account").get_by_role("button", name="Log out").click()

    expect(tab.page).to_have_url(server.base + "/dashboard/login")
    expect(tab.page.get_by_role("status")).to_have_text("You are logged out.")
    tab.page.goto(f"{server.base}/dashboard/c/{server.published['ollama'].slug}")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Log in to your dashboard")
    assert_no_errors(tab)


TAMPER = """(selector) => {
  const field = document.querySelector(selector).form.elements.csrf;
  field.value = field.value.slice(0, -4) + (field.value.endsWith("AAAA") ? "BBBB" : "AAAA");
}"""


def test_a_log_out_with_a_tampered_csrf_token_is_refused_and_the_session_stays(
    owner: Tab, server: Server
) -> None:
    owner.page.goto(server.base + "/dashboard/")
    button = owner.page.get_by_role("navigation", name="Account").get_by_role("button")
    owner.page.evaluate(TAMPER, ".dash-user button")

    with owner.page.expect_response(server.base + "/dashboard/logout") as answer:
        button.click()

    assert answer.value.status == 400
    assert refusal(owner) == ("That request could not be used", CSRF_REFUSED)
    owner.page.goto(server.base + "/dashboard/")
    expect(owner.page.get_by_role("heading", level=1)).to_have_text("Your comparisons")
    assert_no_errors(owner, "status of 400")


def test_a_login_with_a_tampered_csrf_token_is_refused_even_with_the_right_password(
    tab: Tab, server: Server, password: str
) -> None:
    tab.page.goto(server.base + "/dashboard/login")
    tab.page.get_by_label("Publisher handle").fill(HANDLE)
    tab.page.get_by_label("Password").fill(password)
    tab.page.evaluate(TAMPER, "#password")

    with tab.page.expect_response(server.base + "/dashboard/login") as answer:
        tab.page.get_by_role("button", name="Log in").click()

    assert answer.value.status == 400
    assert refusal(tab) == ("That request could not be used", CSRF_REFUSED)
    tab.page.goto(server.base + "/dashboard/")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Log in to your dashboard")
    assert_no_errors(tab, "status of 400")


# -- share links ---------------------------------------------------------------------------


def create_share_link(tab: Tab, days: str, shows: str) -> str:
    """On a comparison's page: choose how long and which host sites, create, copy the link."""
    form = tab.page.get_by_role("region", name="Share a read-only view")
    form.get_by_label("Works for").select_option(label=days)
    form.get_by_label("Shows").select_option(label=shows)
    form.get_by_role("button", name="Create link").click()
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Your share link")
    return tab.page.get_by_label("Copy this link").input_value()


def test_a_share_link_for_one_host_site_opens_read_only_without_a_session(
    owner: Tab,
    new_tab: Callable[..., Tab],
    server: Server,
    host: Host,
    busy: tuple[Published, str, str],
) -> None:
    published, first, _ = busy
    owner.page.goto(f"{server.base}/dashboard/c/{published.slug}")
    assert figures(owner.page) == BOTH_PAGES

    url = create_share_link(owner, "7 days", f"Only {host.base}")

    assert url.startswith(server.base + "/dashboard/share/")
    expires = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    expect(owner.page.locator("main")).to_contain_text(f"It works until {expires}")

    blogger = new_tab()  # another browser: no session cookie
    blogger.page.goto(url)
    expect(blogger.page.get_by_role("heading", level=1)).to_have_text(
        "Ollama vs LM Studio, a year later"
    )
    banner = blogger.page.get_by_role("note").first
    expect(banner).to_contain_text("Read-only view of Ollama vs LM Studio, a year later")
    expect(banner).to_contain_text(f"only the figures of {host.base}")
    assert figures(blogger.page) == FIRST_PAGE  # the other origin's impression is left out
    assert [row[0] for row in embed_locations(blogger.page)] == [first]
    assert blogger.page.locator("form").count() == 0
    assert blogger.page.get_by_role("button").count() == 0
    assert blogger.page.get_by_role("region", name="Votes over time").count() == 0
    assert blogger.page.get_by_role("link", name="Your comparisons").count() == 0
    assert blogger.page.context.cookies() == []

    blogger.page.get_by_role("link", name="90 days").click()
    expect(blogger.page.get_by_role("link", name="90 days")).to_have_attribute(
        "aria-current", "true"
    )
    assert blogger.page.url.startswith(url)
    assert figures(blogger.page) == FIRST_PAGE
    assert_no_errors(owner)
    assert_no_errors(blogger)


def test_an_edited_share_link_shows_the_refusal_page(
    owner: Tab, new_tab: Callable[..., Tab], server: Server, busy: tuple[Published, str, str]
) -> None:
    published, _, _ = busy
    owner.page.goto(f"{server.base}/dashboard/c/{published.slug}")
    url = create_share_link(owner, "1 day", "All host sites")
    blogger = new_tab()
    blogger.page.goto(url)
    assert figures(blogger.page) == BOTH_PAGES  # every host site

    edited = url[:-3] + ("xyz" if not url.endswith("xyz") else "abc")
    answer = blogger.page.goto(edited)

    assert answer is not None and answer.status == 403
    assert refusal(blogger) == ("This link does not work", LINK_REFUSED)
    assert blogger.page.locator("dl.dash-figures").count() == 0
    assert blogger.page.get_by_role("link").count() == 0
    assert_no_errors(blogger, "status of 403")


# -- what the pages look like ---------------------------------------------------------------


def png_size(path: Any) -> tuple[int, int]:
    """Width and height of a PNG file, from its header."""
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_a_full_page_screenshot_of_a_comparison_page_is_saved(
    owner: Tab, server: Server, busy: tuple[Published, str, str]
) -> None:
    published, _, _ = busy
    owner.page.goto(f"{server.base}/dashboard/c/{published.slug}")
    assert figures(owner.page) == BOTH_PAGES
    assert owner.page.viewport_size == {"width": 1280, "height": 800}

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "dashboard.png"
    owner.page.screenshot(path=str(path), full_page=True)

    width, height = png_size(path)
    assert width == 1280 and height > 800, (width, height)
    assert_no_errors(owner)


def test_axe_finds_nothing_serious_on_the_login_overview_and_comparison_pages(
    tab: Tab, owner: Tab, server: Server, busy: tuple[Published, str, str]
) -> None:
    published, _, _ = busy
    tab.page.goto(server.base + "/dashboard/login")
    found = {"login": blocking(axe(tab.page))}
    owner.page.goto(server.base + "/dashboard/")
    found["overview"] = blocking(axe(owner.page))
    owner.page.goto(f"{server.base}/dashboard/c/{published.slug}")
    found["comparison"] = blocking(axe(owner.page))

    assert found == {"login": [], "overview": [], "comparison": []}
    assert_no_errors(tab)
    assert_no_errors(owner)


def test_axe_finds_nothing_serious_on_the_comparison_page_on_a_phone(
    new_tab: Callable[..., Tab],
    signed_in: dict[str, Any],
    server: Server,
    busy: tuple[Published, str, str],
) -> None:
    published, _, _ = busy
    phone = new_tab(viewport={"width": 390, "height": 844}, storage_state=signed_in)
    phone.page.goto(f"{server.base}/dashboard/c/{published.slug}")
    assert figures(phone.page) == BOTH_PAGES

    assert blocking(axe(phone.page)) == []
