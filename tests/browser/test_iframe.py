"""The iframe form in a scripts-only sandbox (tests/browser/test_wordpress.py: in WordPress)."""

from __future__ import annotations

import pytest

from .helpers import Host, Server, Tab

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
