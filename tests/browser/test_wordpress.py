"""A comparison's URL pasted into a real WordPress embeds the way WordPress's own posts do.

WordPress (Debian's 6.1, its default theme) discovers the oEmbed link on the canonical page,
keeps our answer in the post's meta, loads its resize script (wp-embed) for the blockquote
fallback, and frames the iframe form in ``sandbox="allow-scripts"``. These tests read the post
as a reader would, in Chromium, at phone and desktop widths.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from vswidget import Client
from vswidget.client import Published

from .helpers import ARTIFACTS, OLLAMA, Server, Tab, luminance
from .wordpress import Post, WordPress, embed_block, paragraph

pytestmark = pytest.mark.browser

WIDTHS = [320, 375, 414, 768, 1280]
WP_CAP = 1000  # wp-embed.js never makes a frame taller
FRAME = "iframe.wp-embedded-content"
ITEM_PAGE = "https://example.com/ollama"  # the item's stored URL (answered by a route here)


@pytest.fixture(scope="module")
def posts(wordpress: WordPress, server: Server) -> dict[str, Post]:
    """The Ollama comparison's URL alone in a paragraph, and in an Embed block."""
    url = server.published["ollama"].url
    return {
        "paragraph": wordpress.post(paragraph(url), title="We asked three people"),
        "block": wordpress.post(embed_block(url), title="An Embed block"),
    }


def open_post(tab: Tab, post: Post) -> Any:
    """Open a post and wait until WordPress has sized the frame from its height message."""
    tab.page.goto(post.url)
    frame = tab.page.locator(FRAME).first
    frame.wait_for(state="visible")
    tab.page.wait_for_function(
        "s => { const f = document.querySelector(s); return f && !f.hasAttribute('style'); }",
        arg=FRAME,
    )
    return frame


def frame_document_height(tab: Tab) -> int:
    inner = next(f for f in tab.page.frames if "/embed/" in f.url)
    return int(inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)"))


def test_wordpress_loads_its_resize_script_for_our_blockquote_fallback(
    wordpress: WordPress, posts: dict[str, Post], server: Server
) -> None:
    for post in posts.values():
        html = wordpress.render(post)
        assert re.search(r'<blockquote class="wp-embedded-content" data-secret="\w+">', html)
        assert re.search(r"<script[^>]+wp-embed(\.min)?\.js", html), "wp-embed is not loaded"
        # The frame URL names the comparison's address, with WordPress's secret after it.
        assert f'src="{server.base}/embed/browser/ollama-vs-lm-studio#?secret=' in html


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("form", ["paragraph", "block"])
def test_the_frame_fits_the_column_and_shows_everything_at_every_width(
    new_tab: Callable[..., Tab], posts: dict[str, Post], form: str, width: int
) -> None:
    tab = new_tab(viewport={"width": width, "height": 900})
    frame = open_post(tab, posts[form])
    box = frame.bounding_box()
    column = frame.evaluate("f => f.parentElement.getBoundingClientRect().width")
    # Never wider than the column, and no sideways scroll on the phone.
    assert box["width"] <= column + 0.5
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= width
    # Sized to what the frame holds (within WordPress's cap): nothing cut, no inner scroll.
    inner = frame_document_height(tab)
    assert inner <= WP_CAP, f"the iframe form is {inner} px tall at {width} px"
    tab.page.wait_for_function(
        "([s, h]) => Math.abs(document.querySelector(s).getBoundingClientRect().height - h) < 2",
        arg=[FRAME, inner],
    )
    assert tab.page.locator("blockquote.wp-embedded-content").first.is_hidden()
    heading = tab.page.frame_locator(FRAME).get_by_role("heading", name=OLLAMA["title"])
    assert heading.is_visible()
    assert tab.errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_in_the_frame_a_count_stays_on_one_line_and_each_card_holds_its_buttons(
    new_tab: Callable[..., Tab], posts: dict[str, Post], width: int
) -> None:
    tab = new_tab(viewport={"width": width, "height": 900})
    open_post(tab, posts["block"])
    frame = tab.page.frame_locator(FRAME)
    frame.locator('li.card[data-key="lm-studio"] button.vote').click()
    frame.locator('li.card[data-key="lm-studio"] button.vote[aria-pressed="true"]').wait_for()
    inner = next(f for f in tab.page.frames if "/embed/" in f.url)
    lines = inner.evaluate(
        """() => [...document.querySelectorAll("li.card .n")].map(n => {
            const range = document.createRange();
            range.selectNodeContents(n);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        })"""
    )
    assert lines and all(count == 1 for count in lines), f"counts broken over lines: {lines}"
    outside = inner.evaluate(
        """() => [...document.querySelectorAll("li.card")].flatMap(card => {
            const box = card.getBoundingClientRect();
            return [...card.querySelectorAll("button, a")].filter(el => {
                const r = el.getBoundingClientRect();
                return r.left < box.left - 0.5 || r.right > box.right + 0.5;
            }).map(el => el.textContent);
        })"""
    )
    assert outside == []


def test_visit_opens_the_items_page_from_the_sandbox_and_counts_the_click(
    new_human_tab: Callable[..., Tab], posts: dict[str, Post], server: Server
) -> None:
    tab = new_human_tab()  # the server counts no bot's click
    open_post(tab, posts["paragraph"])
    clicks = _clicks(server)
    visit = tab.page.frame_locator(FRAME).locator('li.card[data-key="ollama"] a.visit')
    with tab.page.expect_response(lambda r: "/go/" in r.url) as went:
        visit.click()
    # WordPress navigated the top window (the sandbox may not) to our /go route, which
    # redirects to the item's stored URL; this machine has no route to it, and needs none.
    response = went.value
    assert response.frame.parent_frame is None
    assert response.status == 302 and response.headers["location"] == ITEM_PAGE
    assert _clicks(server) == clicks + 1


def test_full_comparison_opens_the_canonical_page_from_the_sandbox(
    tab: Tab, posts: dict[str, Post], server: Server
) -> None:
    open_post(tab, posts["block"])
    with tab.page.expect_navigation(url=server.published["ollama"].url):
        tab.page.frame_locator(FRAME).get_by_role("link", name="Full comparison").click()
    assert tab.page.get_by_role("heading", name=OLLAMA["title"]).is_visible()


def test_readers_vote_inside_the_wordpress_frame(tab: Tab, posts: dict[str, Post]) -> None:
    open_post(tab, posts["block"])
    button = tab.page.frame_locator(FRAME).locator('li.card[data-key="lm-studio"] button.vote')
    button.click()
    frame = tab.page.frame_locator(FRAME)
    frame.locator('li.card[data-key="lm-studio"] button.vote[aria-pressed="true"]').wait_for()
    expect(frame.locator(".foot .note")).to_contain_text("Community now")


def test_a_comparison_whose_hosts_name_the_blog_takes_votes_from_its_sandboxed_frame(
    tab: Tab, wordpress: WordPress, server: Server
) -> None:
    blog = urlsplit(wordpress.base).hostname
    document = {**OLLAMA, "slug": "wp-hosts", "hosts": [blog]}
    with Client(server.base, server.key) as client:
        comparison = client.publish(document)
    post = wordpress.post(embed_block(comparison.url), title="Limited to this blog")
    open_post(tab, post)
    button = tab.page.frame_locator(FRAME).locator('li.card[data-key="ollama"] button.vote')
    with tab.page.expect_request(lambda r: r.url.endswith("/v1/votes")) as sent:
        button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert sent.value.header_value("origin") == "null"  # sandbox="allow-scripts"
    assert sent.value.header_value("referer") is None  # Chromium sends none from there
    votes = httpx.get(f"{server.base}/v1/payload/{comparison.token}", timeout=10).json()["votes"]
    assert votes == 1


@pytest.fixture
def republished(server: Server) -> Iterator[dict[str, Any]]:
    """A comparison of its own, to delete and publish again."""
    document = {**OLLAMA, "slug": "wp-republished", "title": "Republished vs Deleted"}
    with Client(server.base, server.key) as client:
        yield {"client": client, "document": document, "first": client.publish(document)}


def test_an_embed_keeps_working_after_the_comparison_is_deleted_and_published_again(
    tab: Tab, wordpress: WordPress, republished: dict[str, Any]
) -> None:
    client: Client = republished["client"]
    first: Published = republished["first"]
    post = wordpress.post(paragraph(first.url), title="Pasted before the re-publish")
    assert "wp-embedded-content" in wordpress.render(post)  # WordPress keeps our answer

    client.delete("wp-republished")
    again = client.publish({**republished["document"], "title": "Republished, renamed"})
    assert again.token != first.token  # a new comparison, under the same address

    html = wordpress.render(post)  # the cached oEmbed answer, not fetched again
    assert f"{first.iframe_url}#?secret=" in html
    open_post(tab, post)
    frame = tab.page.frame_locator(FRAME)
    assert frame.get_by_role("heading", name="Republished, renamed").is_visible()
    assert frame.get_by_text("Comparison not found").count() == 0


def test_the_pasted_urls_theme_and_language_reach_the_frame(
    tab: Tab, wordpress: WordPress, server: Server
) -> None:
    url = server.published["kettle"].url + "?theme=dark&lang=de"
    post = wordpress.post(paragraph(url), title="Dunkel und auf Deutsch")
    frame = open_post(tab, post)
    assert "?theme=dark&lang=de#?secret=" in (frame.get_attribute("src") or "")
    inner = tab.page.frame_locator(FRAME)
    assert inner.get_by_text("Panel empfiehlt", exact=True).first.is_visible()
    background = inner.locator("section.vsw").evaluate("e => getComputedStyle(e).backgroundColor")
    assert luminance(background) < 0.2


def test_an_author_may_paste_the_url_while_the_script_snippet_is_stripped(
    tab: Tab, wordpress: WordPress, server: Server
) -> None:
    """Most writers are Authors, without unfiltered_html: for them the URL is the way in."""
    snippet = server.published["kettle"].snippet
    scripted = wordpress.post(snippet, author="writer", title="The snippet, as an Author")
    assert "<script" not in scripted.content and "widget.js" not in scripted.content
    pasted = wordpress.post(
        paragraph(server.published["kettle"].url), author="writer", title="The URL, as an Author"
    )
    open_post(tab, pasted)
    heading = tab.page.frame_locator(FRAME).get_by_role(
        "heading", name="Electric Kettle vs Moka Pot"
    )
    assert heading.is_visible()


def _clicks(server: Server) -> int:
    """Click events stored for the Ollama comparison's first item."""
    with sqlite3.connect(server.database) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM events WHERE type = 'click' AND item_key = 'ollama'"
        ).fetchone()
    return int(count)


def test_go_links_only_ever_redirect_to_the_items_stored_url(server: Server) -> None:
    page = httpx.get(server.published["ollama"].iframe_url, timeout=10).text
    links = re.findall(r'href="([^"]*/go/[^"]+)"', page)
    assert len(links) == 2
    answer = httpx.get(links[0], timeout=10, follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"] == ITEM_PAGE
    forged = links[0][:-3] + ("AAA" if not links[0].endswith("AAA") else "BBB")
    assert httpx.get(forged, timeout=10, follow_redirects=False).status_code == 404


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("form", ["paragraph", "block"])
def test_screenshots_of_the_post_are_saved(
    new_tab: Callable[..., Tab], posts: dict[str, Post], form: str, width: int
) -> None:
    tab = new_tab(viewport={"width": width, "height": 900})
    open_post(tab, posts[form])
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"wordpress-{form}-{width}.png"
    tab.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
