"""A User-Agent header reduced to the two classes an event keeps: device and browser.

Only the classes are stored, never the header. A handful of tokens decide them, in
the order below (Edge, Opera and Samsung Internet also say "Chrome" and "Safari";
Chrome says "Safari"). iPadOS asks for desktop sites by default and then sends a Mac's
header, which nothing on the server can tell apart: such an iPad counts as a desktop.
Hand-written rather than ua-parser: see docs/performance.md ("User agents").
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

DEVICES = ("phone", "tablet", "desktop", "other")
BROWSERS = ("chrome", "safari", "firefox", "edge", "samsung", "opera", "other")

# (browser family, tokens that name it), the first family a header names wins.
_BROWSER_TOKENS = (
    ("samsung", ("SamsungBrowser/",)),
    ("edge", ("Edg/", "EdgA/", "EdgiOS/", "Edge/")),
    ("opera", ("OPR/", "OPiOS/", "OPT/", "Opera")),
    ("firefox", ("Firefox/", "FxiOS/")),
    ("chrome", ("CriOS/", "Chrome/", "Chromium/")),
    ("safari", ("Safari/",)),
)
_DESKTOP_TOKENS = ("Windows", "Macintosh", "X11", "CrOS", "Linux")
# Only the head of a header decides; a longer one is cut before it is classified, so a
# cached entry stays small whatever a sender puts in the header.
HEAD = 512


class Classes(NamedTuple):
    """What an event keeps of its sender's user agent."""

    device: str
    browser: str


def classify(user_agent: str) -> Classes:
    """Return the device class and browser family of a User-Agent header."""
    return _classify(user_agent[:HEAD])


@lru_cache(maxsize=1024)
def _classify(head: str) -> Classes:
    return Classes(_device(head), _browser(head))


def _device(head: str) -> str:
    if "iPad" in head or "Tablet" in head:
        return "tablet"
    if "Android" in head:  # Android phones' browsers say "Mobile", tablets' do not
        return "phone" if "Mobile" in head else "tablet"
    if "iPhone" in head or "iPod" in head or "Mobile" in head:
        return "phone"
    if any(token in head for token in _DESKTOP_TOKENS):
        return "desktop"
    return "other"


def _browser(head: str) -> str:
    for family, tokens in _BROWSER_TOKENS:
        if any(token in head for token in tokens):
            return family
    return "other"
