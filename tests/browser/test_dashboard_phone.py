"""The dashboard on a 375 px phone: every page fits, charts show the newest days.

Issue 17: on a phone the overview showed titles with the figures off to the right, and
charts opened scrolled to the oldest days. Each page must fit the screen without
sideways scrolling, a wide table reads as a list, a chart that stays wider than the
screen opens at its newest day, and axe finds nothing serious at either width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from vswidget.client import Published

from .helpers import ARTIFACTS, Server, Tab, assert_no_errors, axe, blocking

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

# Every element that sticks out of the viewport, sideways, and is not inside a box that
# scrolls or clips it (a chart's scroller, say).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && (box.left < -0.5 || box.right > width + 0.5) && !clipped(el);
    })
    .map((el) => `${el.tagName.toLowerCase()}.${el.className.baseVal ?? el.className}`
                  + ` ${Math.round(el.getBoundingClientRect().right)}px`);
}"""

# Each chart's newest day and its legend: whether the last date label on the axis and every
# legend item are on screen.
NEWEST_DAY_SHOWN = """() => [...document.querySelectorAll(".dash-chart")].map((chart) => {
  const labels = chart.querySelectorAll(".vsw-axis text");
  const shown = [labels[labels.length - 1], ...chart.querySelectorAll(".vsw-legend-item")];
  const scroller = chart.getBoundingClientRect();
  return shown.every((element) => {
    const box = element.getBoundingClientRect();
    return box.left >= scroller.left - 0.5 && box.right <= scroller.right + 0.5
      && box.right <= document.documentElement.clientWidth + 0.5;
  });
})"""


# Each chart, brought into view: whether it is wider than its box, opened at its newest day
# (a right-to-left scroller is at 0 there), and its count scale's labels shown on top
# (what the page shows at each label's centre is the scale) inside the box and the screen.
SCALE_SHOWN = """() => [...document.querySelectorAll(".dash-chart")].map((chart) => {
  chart.scrollIntoView({block: "center"});
  const scroller = chart.getBoundingClientRect();
  const labels = [...chart.querySelectorAll(".vsw-scale text")];
  const shown = (label) => {
    const box = label.getBoundingClientRect();
    const top = document.elementFromPoint((box.left + box.right) / 2, (box.top + box.bottom) / 2);
    return box.left >= scroller.left - 0.5 && box.left >= 0
      && box.right <= Math.min(scroller.right, document.documentElement.clientWidth) + 0.5
      && top !== null && label.closest("svg").contains(top);
  };
  return {
    wider: chart.scrollWidth > chart.clientWidth,
    newest: Math.abs(chart.scrollLeft) < 0.5,
    scale: labels.length > 1 && labels.every(shown),
  };
})"""


@pytest.fixture(scope="module")
def seen(request: pytest.FixtureRequest) -> Published:
    """A comparison one reader saw on two host pages and voted on, rolled up (``busy``)."""
    published: Published = request.getfixturevalue("busy")[0]
    return published


@pytest.fixture(scope="module")
def first_page(request: pytest.FixtureRequest) -> str:
    """The URL of the first host page that reader saw it on."""
    url: str = request.getfixturevalue("busy")[1]
    return url


def pages(server: Server, seen: Published, first_page: str) -> dict[str, str]:
    one_page = urlencode({"host_page": first_page})
    return {
        "overview": f"{server.base}/dashboard/",
        "comparison": f"{server.base}/dashboard/c/{seen.slug}",
        "comparison-90-days": f"{server.base}/dashboard/c/{seen.slug}?days=90",
        "overview-7-days": f"{server.base}/dashboard/?days=7",
        "overview-30-minutes": f"{server.base}/dashboard/?minutes=30",
        "comparison-30-minutes": f"{server.base}/dashboard/c/{seen.slug}?minutes=30",
        "comparison-one-host-page": f"{server.base}/dashboard/c/{seen.slug}?{one_page}",
    }


def opened(tab: Tab, name: str, address: str, width: int) -> Any:
    """Open ``address``, open its tables' details, and keep a screenshot of the page."""
    tab.page.goto(address)
    for summary in tab.page.locator("details > summary").all():
        summary.click()
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{width}.png"), full_page=True)
    return tab.page


# The tables that stick out of their card, and by how much, on a screen wide enough for
# them to stay tables (on a phone they are lists).
OUT_OF_CARD = """() => [...document.querySelectorAll(".dash-card")].flatMap((card) => {
  const edge = card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
  return [...card.querySelectorAll("table")]
    .filter((table) => table.getBoundingClientRect().right > edge + 0.5)
    .map((table) => `${table.getAttribute("aria-labelledby") || table.className}`
                    + ` by ${Math.round(table.getBoundingClientRect().right - edge)} px`);
})"""


def assert_fits(page: Any) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    assert page.evaluate(OVERFLOWING) == []


@pytest.fixture
def phone(new_tab: Callable[..., Tab], signed_in: dict[str, Any]) -> Tab:
    """A site owner's phone, logged in."""
    return new_tab(viewport=PHONE, storage_state=signed_in, is_mobile=True, has_touch=True)


def test_every_dashboard_page_fits_a_375_px_phone_without_sideways_scrolling(
    phone: Tab, new_tab: Callable[..., Tab], server: Server, seen: Published, first_page: str
) -> None:
    for name, address in pages(server, seen, first_page).items():
        assert_fits(opened(phone, name, address, PHONE["width"]))
    logged_out = new_tab(viewport=PHONE, is_mobile=True, has_touch=True)
    assert_fits(opened(logged_out, "login", f"{server.base}/dashboard/login", PHONE["width"]))
    assert_no_errors(phone)
    assert_no_errors(logged_out)


@pytest.mark.parametrize("width", [1024, 1280])
def test_on_a_laptop_or_desktop_every_table_stays_inside_its_card(
    new_tab: Callable[..., Tab],
    signed_in: dict[str, Any],
    server: Server,
    seen: Published,
    first_page: str,
    width: int,
) -> None:
    owner = new_tab(viewport={**DESKTOP, "width": width}, storage_state=signed_in)
    found = {
        name: opened(owner, name, address, width).evaluate(OUT_OF_CARD)
        for name, address in pages(server, seen, first_page).items()
    }
    assert found == {name: [] for name in found}


def test_on_a_phone_the_overview_shows_each_comparisons_figures_under_its_title(
    phone: Tab, server: Server, seen: Published
) -> None:
    page = opened(phone, "overview", f"{server.base}/dashboard/", PHONE["width"])
    row = page.locator("table.dash-overview tbody tr").filter(has_text=seen.slug)
    title = row.locator("th").bounding_box()
    for cell in row.locator("td").all():
        box = cell.bounding_box()
        assert box["y"] >= title["y"] + title["height"] - 0.5
        assert box["x"] + box["width"] <= PHONE["width"]
    labels = row.locator("td.num").evaluate_all(
        "(cells) => cells.map((c) => getComputedStyle(c, '::before').content)"
    )
    assert labels == ['"Impressions"', '"Views"', '"Votes"', '"Clicks"', '"Sign-ups"', '"Visitors"']


@pytest.mark.parametrize("query", ["days=30", "days=90", "minutes=30"])
def test_on_a_phone_each_chart_opens_at_its_newest_day_with_its_legend(
    phone: Tab, server: Server, seen: Published, query: str
) -> None:
    page = opened(
        phone,
        f"charts-{query.replace('=', '-')}",
        f"{server.base}/dashboard/c/{seen.slug}?{query}",
        PHONE["width"],
    )
    charts = 2 if query.startswith("minutes") else 3  # votes per item are by day only
    assert page.evaluate(NEWEST_DAY_SHOWN) == [True] * charts


@pytest.mark.parametrize("query", ["days=30", "minutes=30"])
def test_on_a_phone_each_charts_count_scale_shows_beside_its_newest_day(
    phone: Tab, server: Server, seen: Published, query: str
) -> None:
    page = opened(
        phone,
        f"scales-{query.replace('=', '-')}",
        f"{server.base}/dashboard/c/{seen.slug}?{query}",
        PHONE["width"],
    )
    charts = 2 if query.startswith("minutes") else 3
    assert page.evaluate(SCALE_SHOWN) == [{"wider": True, "newest": True, "scale": True}] * charts


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_axe_finds_nothing_serious_on_the_overview_and_a_comparisons_page(
    new_tab: Callable[..., Tab],
    signed_in: dict[str, Any],
    server: Server,
    seen: Published,
    first_page: str,
    viewport: dict[str, int],
) -> None:
    owner = new_tab(viewport=viewport, storage_state=signed_in)
    found = {
        name: blocking(axe(opened(owner, name, address, viewport["width"])))
        for name, address in pages(server, seen, first_page).items()
    }
    assert found == {name: [] for name in found}
    assert_no_errors(owner)


def test_on_a_phone_sources_devices_and_browsers_read_as_labelled_lists(
    phone: Tab, server: Server, seen: Published, first_page: str
) -> None:
    address = pages(server, seen, first_page)["comparison-one-host-page"]
    page = opened(phone, "segments", address, PHONE["width"])
    assert page.locator("#segments-page").input_value() == first_page
    devices = page.locator("table[aria-labelledby=segments-devices-h] tbody tr").first
    assert devices.locator("th").inner_text() == "Desktop"  # Chromium on Linux
    labels = devices.locator("td").evaluate_all(
        "(cells) => cells.map((c) => getComputedStyle(c, '::before').content)"
    )
    assert labels == ['"Views"', '"Votes"', '"Share of views"']
