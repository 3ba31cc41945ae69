"""The snippet on a blog: widget.js renders each widget into its own Shadow DOM.

Every page here comes from the host site, another origin than the vswidget server,
as on a real blog.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .helpers import ARTIFACTS, Host, Server, Tab, luminance

pytestmark = pytest.mark.browser

OLLAMA_TEXT = [
    "Local AI tools",
    "Ollama vs LM Studio",
    "Which local model runner belongs on your laptop?",
    "Ollama",
    "LM Studio",
    "Developer Tools",
    "One command to pull and run an open model",
    "Panel ship",
    "67%",  # Ollama: 2 of 3 reviewers said ship
    "33%",  # LM Studio: 1 of 3
    "Community",
    "—",  # nobody voted yet
    "The Maintainer",
    "The Tinkerer",
    "The Newcomer",
]
KETTLE_TEXT = [
    "Electric Kettle vs Moka Pot",
    "Electric Kettle",
    "Moka Pot",
    "100%",
    "50%",
    "—",
    "The Barista",
    "The Commuter",
]


def visible_text(tab: Tab, token: str, text: str) -> Any:
    """The first visible element inside the widget whose own text is exactly ``text``."""
    return tab.widget(token).get_by_text(text, exact=True).filter(visible=True).first


def open_hostile_page(tab: Tab, host: Host, server: Server) -> None:
    """Open the hostile blog post and bring its last widget into view, so all three load."""
    tab.page.goto(host.page("hostile.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')
    tab.widget(server.token("kettle")).scroll_into_view_if_needed()
    tab.wait_rendered(f'[data-vswidget="{server.token("kettle")}"]')


def test_widgets_render_correctly_on_a_page_with_hostile_css(
    tab: Tab, host: Host, server: Server
) -> None:
    open_hostile_page(tab, host, server)

    for token, texts in [
        (server.token("ollama"), OLLAMA_TEXT),
        (server.token("kettle"), KETTLE_TEXT),
    ]:
        for text in texts:
            assert visible_text(tab, token, text).is_visible(), f"{text!r} is not visible"
        # The host's `color: red; font-size: 40px` and friends do not reach inside.
        title = tab.widget(token).locator("h2, [role=heading]").first
        style = title.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return {color: s.color, size: s.fontSize, display: s.display,"
            " transform: s.textTransform, background: s.backgroundColor}; }"
        )
        assert style["color"] != "rgb(255, 0, 0)", style
        assert style["size"] != "40px", style
        assert style["transform"] != "uppercase", style
        assert style["background"] != "rgb(255, 255, 0)", style
    assert tab.errors == []


def test_the_host_pages_css_does_not_change_how_the_widget_looks_but_for_its_font(
    new_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    """The same widget is as coloured and sized on a hostile page as on a plain one; only the
    font family is the host's, as on any page."""
    looks = []
    for page in ("hostile.html", "blog.html"):
        tab = new_tab()
        tab.page.goto(host.page(page))
        selector = f'[data-vswidget="{server.token("ollama")}"]'
        tab.wait_rendered(selector)
        title = tab.widget(server.token("ollama")).get_by_text("Ollama vs LM Studio", exact=True)
        looks.append(
            {
                "root": tab.root_style(
                    selector, "background-color", "color", "font-size", "text-transform"
                ),
                "title": title.evaluate(
                    "e => { const s = getComputedStyle(e);"
                    " return [s.color, s.fontSize, s.letterSpacing, s.textTransform,"
                    " s.lineHeight]; }"
                ),
                "font": title.evaluate("e => getComputedStyle(e).fontFamily"),
            }
        )
    hostile, plain = looks
    assert hostile["root"] == plain["root"] and hostile["title"] == plain["title"]
    assert hostile["font"] == '"Comic Sans MS", cursive' and plain["font"] == "Georgia, serif"


def test_the_widget_takes_the_host_pages_font_unless_told_otherwise(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("blog.html"))
    selector = f'[data-vswidget="{server.token("ollama")}"]'
    tab.wait_rendered(selector)
    family = "e => getComputedStyle(e.shadowRoot.querySelector('.title')).fontFamily"
    assert tab.page.eval_on_selector(selector, family) == "Georgia, serif"
    tab.page.eval_on_selector(selector, "e => e.style.setProperty('--vsw-font', 'monospace')")
    assert tab.page.eval_on_selector(selector, family) == "monospace"


def test_one_payload_request_carries_every_widget_near_the_viewport(
    new_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    # Tall enough that the three widgets of the post (about 2,100 px) are all near it.
    tab = new_tab(viewport={"width": 1280, "height": 1800})
    tab.page.goto(host.page("blog.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("kettle")}"]')
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')
    tab.page.wait_for_load_state("networkidle")

    requests = tab.payload_requests()
    assert len(requests) == 1, requests
    assert sorted(requests[0]) == sorted(
        [server.token("ollama"), server.token("kettle"), server.token("bad")]
    )


def test_a_widget_far_below_the_fold_loads_in_its_own_request_when_scrolled_near(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("hostile.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')
    tab.page.wait_for_load_state("networkidle")
    kettle = tab.widget(server.token("kettle"))
    assert kettle.bounding_box()["y"] > 800 + 1000, "the test page must put it far below the fold"

    first = tab.payload_requests()
    assert [sorted(tokens) for tokens in first] == [
        sorted([server.token("ollama"), server.token("bad")])
    ]

    kettle.scroll_into_view_if_needed()
    tab.wait_rendered(f'[data-vswidget="{server.token("kettle")}"]')
    tab.page.wait_for_load_state("networkidle")
    assert tab.payload_requests() == [first[0], [server.token("kettle")]]


LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  const shifts = [];
  const take = (entries) => entries.forEach((e) => {
    if (e.hadRecentInput) return;
    total += e.value;
    shifts.push({value: e.value, sources: (e.sources || []).map((s) =>
      s.node ? (s.node.nodeName + " " + (s.node.textContent || "").slice(0, 40)) : "?")});
  });
  const observer = new PerformanceObserver((list) => take(list.getEntries()));
  observer.observe({type: "layout-shift", buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => {
    take(observer.takeRecords());
    observer.disconnect();
    resolve({total, shifts});
  }, 200)));
})"""


def test_rendering_the_widgets_shifts_nothing_on_the_page(
    new_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    # A viewport tall enough to show the whole post: any shift would be seen and counted.
    tab = new_tab(viewport={"width": 1000, "height": 2400})
    tab.page.goto(host.page("blog.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')
    tab.wait_rendered(f'[data-vswidget="{server.token("kettle")}"]')
    tab.page.wait_for_load_state("networkidle")

    shift = tab.page.evaluate(LAYOUT_SHIFT)
    assert shift["total"] == 0, shift["shifts"]


def test_a_bad_token_leaves_its_link_and_one_warning_and_breaks_nothing_else(
    new_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    tab = new_tab(viewport={"width": 1280, "height": 1800})  # all three widgets load at once
    tab.page.goto(host.page("blog.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')
    tab.wait_rendered(f'[data-vswidget="{server.token("kettle")}"]')
    tab.page.wait_for_load_state("networkidle")

    bad = tab.widget(server.token("bad"))
    link = bad.get_by_role("link", name="Ollama vs LM Studio: panel verdict and community vote")
    assert link.is_visible()
    assert link.get_attribute("href") == server.published["ollama"].url
    assert tab.errors == []
    assert len(tab.warnings) == 1, tab.warnings


def test_an_unreachable_server_leaves_the_link_and_one_warning_and_no_error(
    tab: Tab, host: Host, server: Server
) -> None:
    # widget.js is still served (say, from a CDN's cache) while its server is down:
    # the payload request meets a closed port.
    script = tab.page.request.get(f"{server.base}/widget.js")
    assert script.ok, f"GET /widget.js answered {script.status}"
    body = script.body()
    tab.page.route(
        f"http://127.0.0.1:{server.closed_port}/widget.js",
        lambda route: route.fulfill(body=body, content_type="text/javascript"),
    )
    with tab.page.expect_console_message(lambda m: m.text.startswith("[vswidget]")):
        tab.page.goto(host.page("unreachable.html"))
    tab.page.wait_for_load_state("networkidle")

    link = tab.page.get_by_role(
        "link", name="Ollama vs LM Studio: panel verdict and community vote"
    )
    assert link.is_visible()
    assert tab.errors == []
    assert len(tab.warnings) == 1, tab.warnings


def is_dark(tab: Tab, selector: str) -> bool:
    background = tab.root_style(selector, "background-color")["background-color"]
    assert luminance(background) < 0.2 or luminance(background) > 0.8, background
    return luminance(background) < 0.2


@pytest.mark.parametrize(
    ("widget", "scheme", "dark"), [("dark", "light", True), ("light", "dark", False)]
)
def test_the_theme_attribute_forces_a_theme_whatever_the_readers_scheme(
    tab: Tab, host: Host, widget: str, scheme: str, dark: bool
) -> None:
    tab.page.emulate_media(color_scheme=scheme)
    tab.page.goto(host.page("options.html"))
    tab.show(f"#{widget}")
    assert is_dark(tab, f"#{widget}") is dark


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_auto_follows_the_host_page_not_the_readers_colour_scheme(
    tab: Tab, host: Host, server: Server, scheme: str
) -> None:
    """A light page gets a light widget for a reader in dark mode, a dark page a dark one."""
    tab.page.emulate_media(color_scheme=scheme)
    tab.page.goto(host.page("options.html"))  # a light grey page
    tab.show("#auto")
    assert is_dark(tab, "#auto") is False
    tab.page.goto(host.page("themes.html", scheme="dark"))
    kettle = f'[data-vswidget="{server.token("kettle")}"]:not(#boxed)'
    tab.show(kettle)
    assert is_dark(tab, kettle) is True
    tab.show("#boxed")  # in a white box on the dark page
    assert is_dark(tab, "#boxed") is False


def test_auto_follows_the_host_page_when_it_switches_theme(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("themes.html", scheme="light"))
    kettle = f'[data-vswidget="{server.token("kettle")}"]:not(#boxed)'
    tab.show(kettle)
    assert is_dark(tab, kettle) is False
    tab.page.evaluate("document.documentElement.className = 'dark'")
    tab.page.wait_for_function(
        "s => getComputedStyle(document.querySelector(s).shadowRoot.querySelector('section'))"
        ".backgroundColor !== 'rgb(255, 255, 255)'",
        arg=kettle,
    )
    assert is_dark(tab, kettle) is True


def test_data_lang_shows_the_labels_in_that_language(tab: Tab, host: Host) -> None:
    tab.page.goto(host.page("options.html"))
    tab.show("#light")
    tab.show("#german")

    german = tab.page.locator("#german")
    assert german.get_by_text("Panel empfiehlt", exact=True).first.is_visible()
    assert german.get_by_text("Panel ship", exact=True).count() == 0
    # The widgets without data-lang keep the document's language.
    assert tab.page.locator("#light").get_by_text("Panel ship", exact=True).first.is_visible()


def test_render_brings_a_widget_added_after_load_to_life(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("blog.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')

    tab.page.evaluate(
        """([token, height]) => {
            const el = document.createElement("div");
            el.id = "added";
            el.className = "vswidget";
            el.setAttribute("data-vswidget", token);
            el.style.minHeight = height + "px";
            el.innerHTML = "<a href='#'>Electric Kettle vs Moka Pot</a>";
            document.querySelector("main").prepend(el);
            window.VSWidget.render(el);
        }""",
        [server.token("kettle"), server.published["kettle"].height],
    )
    tab.wait_rendered("#added")
    added = tab.page.locator("#added")
    assert added.get_by_role("heading", name="Electric Kettle vs Moka Pot").is_visible()
    assert tab.errors == []


def test_render_calls_queued_before_the_script_loaded_are_rendered(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("later.html"))
    assert tab.page.evaluate("window.queuedBeforeLoad") is True

    tab.page.wait_for_function(
        "() => { const el = document.getElementById('app').shadowRoot.getElementById('queued');"
        " return el.shadowRoot && el.shadowRoot.childElementCount > 0; }"
    )
    queued = tab.page.locator("#app #queued")
    assert queued.get_by_role("heading", name="Electric Kettle vs Moka Pot").is_visible()
    assert tab.errors == []
    assert tab.warnings == []


def test_a_screenshot_of_the_hostile_page_is_saved(tab: Tab, host: Host, server: Server) -> None:
    open_hostile_page(tab, host, server)
    tab.page.evaluate("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "hostile-page.png"
    tab.page.screenshot(path=str(path), full_page=True)
    tab.widget(server.token("ollama")).screenshot(path=str(ARTIFACTS / "hostile-widget.png"))
    assert path.stat().st_size > 10_000
