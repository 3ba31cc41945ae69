"""A User-Agent header reduced to a device class and a browser family."""

from __future__ import annotations

import pytest

from vswidget.server.user_agents import BROWSERS, DEVICES, HEAD, Classes, classify

SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
AGENTS = [
    (
        "iPhone Safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        ("phone", "safari"),
    ),
    (
        "Android Chrome phone",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        ("phone", "chrome"),
    ),
    (
        "Android Chrome tablet",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("tablet", "chrome"),
    ),
    (
        "iPad Safari",
        "Mozilla/5.0 (iPad; CPU OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        ("tablet", "safari"),
    ),
    ("iPadOS asking for the desktop site: a Mac's header", SAFARI_MAC, ("desktop", "safari")),
    (
        "Samsung Internet",
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        ("phone", "samsung"),
    ),
    (
        "Edge on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
        ("desktop", "edge"),
    ),
    (
        "Edge on Android",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
        ("phone", "edge"),
    ),
    (
        "Opera on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0",
        ("desktop", "opera"),
    ),
    (
        "Firefox on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("desktop", "firefox"),
    ),
    (
        "Firefox on Android",
        "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
        ("phone", "firefox"),
    ),
    (
        "Firefox on iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
        ("phone", "firefox"),
    ),
    (
        "Chrome on iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
        ("phone", "chrome"),
    ),
    ("desktop Safari", SAFARI_MAC, ("desktop", "safari")),
    (
        "Chrome on Linux",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("desktop", "chrome"),
    ),
    (
        "Chrome on a Chromebook",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("desktop", "chrome"),
    ),
    ("no header", "", ("other", "other")),
    ("garbage", "\x00<script>alert(1)</script> ¯\\_(ツ)_/¯", ("other", "other")),
]


@pytest.mark.parametrize(
    ("agent", "expected"), [pytest.param(ua, classes, id=name) for name, ua, classes in AGENTS]
)
def test_a_user_agent_gives_its_device_class_and_browser_family(
    agent: str, expected: tuple[str, str]
) -> None:
    assert classify(agent) == Classes(*expected)


def test_every_class_given_is_one_of_the_documented_keys() -> None:
    for _, agent, _ in AGENTS:
        device, browser = classify(agent)
        assert device in DEVICES and browser in BROWSERS


def test_only_the_head_of_a_long_header_decides() -> None:
    padded = "x" * HEAD + " (iPhone) Firefox/125.0"
    assert classify(padded) == Classes("other", "other")
