"""A publisher's text is shown as text everywhere: the widget, the iframe form, the page.

One comparison has an XSS payload in every text field. Each form must show the
payloads as visible text, open no dialog and add no element of its own making.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from .conftest import HANDLE, XSS, XSS_TEXT, Host, Server, Tab

pytestmark = pytest.mark.browser

# Elements a payload could smuggle in.
DANGEROUS = "img, svg, script, iframe, object, embed"

# Fields the widget shows at once; quotes may sit behind a disclosure.
SHOWN = ["kicker", "title", "question", "name_a", "name_b", "category", "tagline", "price"]
SHOWN += ["reviewer", "lens", "headline", "text", "label"]

COUNT_IN_SHADOW = """(el, selector) => el.shadowRoot.querySelectorAll(selector).length"""


def assert_everything_is_text(tab: Tab, scope: str, text: str) -> None:
    """Every XSS field is in ``text``, and the shown ones are visible."""
    missing = [name for name, value in XSS_TEXT.items() if value not in text]
    assert missing == [], f"not shown as text: {missing}"
    for name in SHOWN:
        found = tab.page.locator(scope).get_by_text(XSS_TEXT[name], exact=True)
        assert found.filter(visible=True).count() >= 1, f"{name}: {XSS_TEXT[name]!r} not visible"


def test_the_widget_shows_markup_in_every_field_as_text_and_runs_none(
    new_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    # The same counts for a comparison without any markup: what the widget adds itself.
    plain = new_tab()
    plain.page.goto(host.page("blog.html"))
    selector = f'[data-vswidget="{server.token("ollama")}"]'
    plain.wait_rendered(selector)
    own = plain.page.eval_on_selector(selector, COUNT_IN_SHADOW, DANGEROUS)

    tab = new_tab()
    tab.page.goto(host.page("xss.html"))
    selector = f'[data-vswidget="{server.token("xss")}"]'
    tab.wait_rendered(selector)
    # Open the quotes, so that every field is on screen.
    tab.page.eval_on_selector(
        selector, "el => el.shadowRoot.querySelectorAll('details').forEach(d => d.open = true)"
    )
    text = tab.page.eval_on_selector(selector, "el => el.shadowRoot.textContent")
    assert_everything_is_text(tab, selector, text)
    assert tab.page.locator(selector).get_by_text(XSS_TEXT["quote"]).first.is_visible()

    assert tab.page.eval_on_selector(selector, COUNT_IN_SHADOW, DANGEROUS) == own
    # Outside the widget, only the host page's own elements: its one script tag.
    assert tab.page.locator(f"body :is({DANGEROUS})").count() == 1
    tab.page.wait_for_load_state("networkidle")
    assert tab.dialogs == []
    assert tab.errors == []


@pytest.mark.parametrize("form", ["iframe", "canonical"])
def test_the_server_pages_show_markup_in_every_field_as_text_and_run_none(
    new_tab: Callable[..., Tab], server: Server, form: str
) -> None:
    def url(name: str) -> str:
        published = server.published[name]
        return published.iframe_url if form == "iframe" else published.url

    plain = new_tab()
    plain.page.goto(url("ollama"))
    own = plain.page.locator(DANGEROUS).count()

    tab = new_tab()
    response = tab.page.goto(url("xss"))
    assert response.status == 200
    tab.page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")
    text = tab.page.evaluate("document.body.textContent")
    assert_everything_is_text(tab, "body", text)

    assert tab.page.locator(DANGEROUS).count() == own
    if form == "canonical":
        title = XSS["title"]
        assert tab.page.title() == f"{title}: {XSS['question']}"
        jsonld = tab.page.locator('script[type="application/ld+json"]').text_content()
        assert json.loads(jsonld)["name"] == title
        assert tab.page.url.endswith(f"/c/{HANDLE}/{XSS['slug']}")
    tab.page.wait_for_load_state("networkidle")
    assert tab.dialogs == []
    assert tab.errors == []
