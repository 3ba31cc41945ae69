"""The WordPress harness is Debian's real WordPress, and it discovers our oEmbed.

These tests prove the harness, not the shape of our oEmbed answer: they look only at what
WordPress itself adds to a discovered embed (its class, its sandbox) and at what a reader sees.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest

from .helpers import Server, Tab
from .wordpress import WordPress, embed_block, paragraph

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"


class _Iframes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.found.append({name: value or "" for name, value in attrs})


def our_iframes(html: str, server: Server) -> list[dict[str, str]]:
    """The attributes of each iframe in ``html`` whose page is on the vswidget server."""
    parser = _Iframes()
    parser.feed(html)
    return [a for a in parser.found if a.get("src", "").startswith(f"{server.base}/")]


def assert_embedded_by_wordpress(html: str, server: Server) -> None:
    """One iframe of ours, as WordPress marks a discovered embed: its class, its sandbox."""
    iframes = our_iframes(html, server)
    assert len(iframes) == 1, iframes
    assert "wp-embedded-content" in iframes[0].get("class", "").split()
    assert iframes[0].get("sandbox") == "allow-scripts"


def test_the_harness_serves_debians_wordpress_6_1_with_twenty_twenty_three(
    wordpress: WordPress,
) -> None:
    assert wordpress.version.startswith("6.1")
    assert wordpress.base.startswith("http://127.0.0.1:")
    assert wordpress.php("echo get_stylesheet();") == "twentytwentythree"
    assert wordpress.php("echo get_option('permalink_structure');") == ""
    home = httpx.get(f"{wordpress.base}/", timeout=30)
    assert home.status_code == 200
    assert f'content="WordPress {wordpress.version}"' in home.text
    assert "/wp-content/themes/twentytwentythree/" in home.text


def test_a_comparison_url_alone_in_a_paragraph_auto_embeds_as_a_sandboxed_iframe(
    wordpress: WordPress, server: Server
) -> None:
    post = wordpress.post(paragraph(server.published["ollama"].url), title="A pasted URL")
    assert post.url == f"{wordpress.base}/?p={post.id}"
    assert_embedded_by_wordpress(wordpress.render(post), server)


def test_a_comparison_url_in_the_embed_block_embeds_as_a_sandboxed_iframe(
    wordpress: WordPress, server: Server
) -> None:
    post = wordpress.post(embed_block(server.published["ollama"].url), title="An Embed block")
    assert_embedded_by_wordpress(wordpress.render(post), server)


def test_wordpress_caches_the_discovered_embed_in_the_post_until_the_cache_is_deleted(
    wordpress: WordPress, server: Server
) -> None:
    post = wordpress.post(paragraph(server.published["ollama"].url), title="Cached")
    assert wordpress.oembed_cache(post) == {}
    wordpress.render(post)
    cached = [
        v for k, v in wordpress.oembed_cache(post).items() if not k.startswith("_oembed_time")
    ]
    assert len(cached) == 1 and f'src="{server.base}/' in cached[0], cached
    wordpress.delete_oembed_cache(post)
    assert wordpress.oembed_cache(post) == {}
    assert_embedded_by_wordpress(wordpress.render(post), server)


def test_a_reader_of_the_post_sees_the_comparison_inside_wordpress_iframe(
    wordpress: WordPress, server: Server, new_tab: Callable[..., Tab]
) -> None:
    post = wordpress.post(paragraph(server.published["ollama"].url), title="For a reader")
    tab = new_tab()
    tab.page.goto(post.url, wait_until="domcontentloaded")
    selector = f'iframe.wp-embedded-content[src^="{server.base}/"]'
    tab.page.locator(selector).wait_for(state="visible")
    frame = tab.page.frame_locator(selector)
    frame.get_by_role("heading", name="Ollama vs LM Studio").wait_for(state="visible")


def test_kses_strips_an_authors_script_tag_but_keeps_the_administrators(
    wordpress: WordPress,
) -> None:
    content = paragraph(f"Before{SCRIPT}after")
    by_writer = wordpress.post(content, author="writer", title="By an Author")
    by_admin = wordpress.post(content, author="admin", title="By an Administrator")
    assert "<script" not in by_writer.content
    assert "Before" in by_writer.content and "after" in by_writer.content
    assert SCRIPT in by_admin.content
    assert wordpress.php(f"echo get_post({by_writer.id})->post_author;") == wordpress.php(
        "echo get_user_by('login', 'writer')->ID;"
    )
