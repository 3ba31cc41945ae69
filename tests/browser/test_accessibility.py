"""Readers with a keyboard or a screen reader can use every form of the comparison."""

from __future__ import annotations

import pytest

from .helpers import Host, Server, Tab, axe, blocking

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  let el = document.activeElement, host = null;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) {
    host = el;
    el = el.shadowRoot.activeElement;
  }
  const style = getComputedStyle(el);
  return {
    host: host && host.getAttribute("data-vswidget"),
    tag: el.tagName,
    text: (el.textContent || "").trim(),
    href: el.href || null,
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== "none",
  };
}"""


def test_tab_reaches_the_item_links_inside_the_widget(tab: Tab, host: Host, server: Server) -> None:
    tab.page.goto(host.page("blog.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')

    reached = []
    for _ in range(40):
        tab.page.keyboard.press("Tab")
        focused = tab.page.evaluate(FOCUSED)
        reached.append(focused)
        if focused["host"] and focused["tag"] == "A" and focused["text"] == "Visit Ollama":
            break
    else:
        pytest.fail(f"Tab never reached the item link; focus went through {reached}")
    assert focused["host"] == server.token("ollama")
    assert focused["href"] == "https://example.com/ollama"
    assert focused["outline"] or focused["shadow"], "the focused link shows no focus ring"


def test_axe_finds_nothing_serious_in_the_widget_on_a_blog_page(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("blog.html"))
    tab.wait_rendered(f'[data-vswidget="{server.token("ollama")}"]')
    tab.wait_rendered(f'[data-vswidget="{server.token("kettle")}"]')

    results = axe(tab.page)
    assert blocking(results) == []
    # The scan really went into the shadow roots: their elements are named by a path
    # from the host element down.
    shadow_targets = [
        node["target"]
        for rule in results["passes"]
        for node in rule["nodes"]
        if any(isinstance(part, list) for part in node["target"])
    ]
    assert shadow_targets, "axe did not look inside the widget's shadow root"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_axe_finds_nothing_serious_in_either_theme(tab: Tab, host: Host, theme: str) -> None:
    tab.page.goto(host.page("options.html"))
    tab.wait_rendered(f"#{theme}")
    assert blocking(axe(tab.page, {"include": [[f"#{theme}"]]})) == []


def test_axe_finds_nothing_serious_in_the_iframe_form(tab: Tab, server: Server) -> None:
    response = tab.page.goto(server.published["ollama"].iframe_url)
    assert response.status == 200
    assert blocking(axe(tab.page)) == []


def test_axe_finds_nothing_serious_on_the_canonical_page(tab: Tab, server: Server) -> None:
    response = tab.page.goto(server.published["ollama"].url)
    assert response.status == 200
    assert blocking(axe(tab.page)) == []
