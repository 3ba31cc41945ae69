"""How a comparison is embedded: its signed token, snippet, URLs and reserved height."""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app, request
from markupsafe import escape

from . import layout, signing
from .store import Comparison

# The column widths at which the snippet's reserved height steps down: every 20 to 30 px
# through phones' columns (a 320 px phone's is about 290 px), then the widget's own
# breakpoints (a container 2 px narrower than the column: one card a row below 460 px, three
# in a row from 700, four from 900) and a few in between, where text wraps less. Within a
# band the height at its narrow end is held.
RESERVE_WIDTHS = (280, 300, 320, 340, 360, 380, 400, 430, 462, 560, 640, 702, 800, 902, 1100)
# The iframe form is rendered once for every width; at 320 px it must fit WordPress's 1,000.
NARROWEST_FRAME, FRAME_BUDGET = 320, 1000


# The script tag's onerror: when widget.js cannot be loaded at all (the server is down), the
# snippets give their reserved space back, so the links are not followed by blank space.
RELEASE = (
    "document.querySelectorAll('[data-vswidget]')"
    ".forEach(function(e){e.style.height=e.style.paddingBottom=''})"
)


def public_base() -> str:
    """Return the public base URL of this server, without a trailing slash."""
    return base_url(current_app.config["PUBLIC_URL"], request.host_url)


def base_url(configured: str | None, host_url: str) -> str:
    """Return PUBLIC_URL when it is set, else the URL the request came to, without a slash."""
    return (configured or host_url).rstrip("/")


def embed_token(comparison: Comparison) -> str:
    """Return the signed token that names a comparison in public URLs."""
    return token_for(comparison.public_id)


def token_for(reference: str | int) -> str:
    """Return the embed token that names a comparison by ``reference``: its public id, or
    its database id as in the tokens signed before 0009, which pasted snippets still carry."""
    return _token(reference, tuple(current_app.config["SECRET_KEYS"]))


@functools.lru_cache(maxsize=4096)
def _token(reference: str | int, keys: tuple[str, ...]) -> str:
    # An embed token carries no timestamp: the same id and keys always give the same token.
    return signing.sign(signing.EMBED_TOKEN, reference, list(keys))


def reserved_heights(document: dict[str, Any]) -> list[tuple[int, int]]:
    """Return (column width, height) for each band of RESERVE_WIDTHS: the height the widget
    of a document needs from that width up to the next, never less than a wider band's."""
    heights = [layout.widget_height(document, width) for width in RESERVE_WIDTHS]
    for i in range(len(heights) - 2, -1, -1):
        heights[i] = max(heights[i], heights[i + 1])
    return list(zip(RESERVE_WIDTHS, heights, strict=True))


def reserve_style(document: dict[str, Any]) -> str:
    """Return the snippet's inline style: its reserved height for the column it is in.

    A padding's percentage is one of the column's width, so a sum of clamps, each a step
    that adds a band's extra height below that band's upper width, gives a height per
    width with no script and no stylesheet; the zero height lets the link show at the top.
    """
    bands = reserved_heights(document)
    steps = [
        f"clamp(0px,({upper}px - 100%)*1000,{height - next_height}px)"
        for (_, height), (upper, next_height) in zip(bands, bands[1:], strict=False)
        if height > next_height
    ]
    return f"height:0;padding-bottom:calc({' + '.join([f'{bands[-1][1]}px', *steps])})"


def frame_fit(document: dict[str, Any]) -> tuple[bool, bool]:
    """Return how the iframe form of a document fits WordPress's frame at any width: whether
    the newsletter's form is in it (else a link to it), and whether it must be tight."""
    for form, tight in ((True, False), (False, False)):
        if layout.frame_height(document, NARROWEST_FRAME, form, tight) <= FRAME_BUDGET:
            return form, tight
    return False, True


def canonical_url(handle: str, slug: str) -> str:
    """Return the URL of a comparison's canonical page."""
    return f"{public_base()}/c/{handle}/{slug}"


def frame_url(handle: str, slug: str) -> str:
    """Return the URL of a comparison's iframe form: its address, so it outlives edits."""
    return f"{public_base()}/embed/{handle}/{slug}"


def embed_details(comparison: Comparison, document: dict[str, Any]) -> dict[str, Any]:
    """Return what a blogger needs to embed a comparison."""
    base = public_base()
    token = embed_token(comparison)
    url = canonical_url(comparison.publisher_handle, comparison.slug)
    snippet = (
        f'<div class="vswidget" data-vswidget="{token}" style="{reserve_style(document)}">\n'
        f'  <a href="{escape(url)}">{escape(document["title"])}: '
        "panel verdict and community vote</a>\n"
        "</div>\n"
        f'<script async src="{escape(base)}/widget.js" onerror="{RELEASE}"></script>'
    )
    return {
        "slug": comparison.slug,
        "token": token,
        "snippet": snippet,
        "iframe_url": frame_url(comparison.publisher_handle, comparison.slug),
        "url": url,
        "height": layout.widget_height(document, 640),
    }
