"""The iframe form /embed/TOKEN in a sandbox, and as WordPress embeds it from oEmbed."""

from __future__ import annotations

import re

import pytest

from .conftest import Host, Server, Tab, oembed

pytestmark = pytest.mark.browser

SECRET = "Xy7kQ2pLm9"  # WordPress makes a 10-character alphanumeric secret per embed


def test_the_iframe_form_renders_in_a_scripts_only_sandbox_and_posts_its_height(
    tab: Tab, host: Host, server: Server
) -> None:
    tab.page.goto(host.page("iframe.html"))
    frame = tab.page.frame_locator("#frame")
    heading = frame.get_by_role("heading", name="Ollama vs LM Studio")
    heading.wait_for()
    assert frame.get_by_text("Panel ship", exact=True).first.is_visible()
    assert frame.get_by_text("67%", exact=True).first.is_visible()

    tab.page.wait_for_function(
        "() => window.received.some((m) => m.data && m.data.message === 'height')"
    )
    heights = [
        m for m in tab.page.evaluate("window.received") if m["data"].get("message") == "height"
    ]
    for message in heights:
        assert message["fromFrame"] is True
        assert message["origin"] == "null", "the sandbox gives the frame an opaque origin"
        assert set(message["data"]) == {"message", "value", "secret"}
        assert message["data"]["secret"] == "abc123"
        assert isinstance(message["data"]["value"], int) and message["data"]["value"] > 0

    inner = next(f for f in tab.page.frames if "/embed/" in f.url)
    measured = inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    assert heights[-1]["data"]["value"] == measured
    assert tab.errors == []


def test_a_wordpress_post_sizes_the_oembed_iframe_to_the_height_the_frame_reports(
    tab: Tab, host: Host, server: Server
) -> None:
    # WordPress asks with the post's content width and at most 1.5 times that as height.
    answer = oembed(server, server.published["ollama"].url, maxwidth="640", maxheight="960")
    html = answer["html"]
    assert re.fullmatch(r"<iframe [^>]*></iframe>", html), html
    # What WordPress does to a provider's iframe before it goes into the post.
    html = re.sub(r'src="([^"]+)"', rf'src="\1#?secret={SECRET}" data-secret="{SECRET}"', html)
    html = html.replace(
        "<iframe ",
        '<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted" ',
    )
    tab.page.goto(host.page("wordpress.html", oembed_html=html))
    iframe = tab.page.locator(f'iframe[data-secret="{SECRET}"]')
    assert tab.page.evaluate("window.initialHeights") == [str(answer["height"])]

    tab.page.wait_for_function("() => window.heights.length > 0")
    reported = tab.page.evaluate("window.heights")[-1]
    expected = min(max(reported, 200), 1000)
    tab.page.wait_for_function(
        "([expected]) => document.querySelector('iframe[data-secret]').height == expected",
        arg=[expected],
    )
    assert iframe.get_attribute("height") == str(expected)
    box = iframe.bounding_box()
    assert box["height"] == expected
    frame = tab.page.frame_locator(f'iframe[data-secret="{SECRET}"]')
    assert frame.get_by_role("heading", name="Ollama vs LM Studio").is_visible()
    assert tab.errors == []
