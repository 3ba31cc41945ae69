"""How a comparison is embedded: its signed token, snippet, URLs and reserved height."""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app, request
from markupsafe import escape

from . import signing
from .models import Comparison

# Pixels the widget takes, by part, measured in Chromium at a 640 px wide column
# (the narrowest common blog column); the snippet reserves their sum so the host
# page does not jump when the widget renders. What does not fit scrolls inside.
HEADER_HEIGHT = 124
ITEMS_HEIGHT = {2: 460, 3: 704, 4: 930}  # four items sit in a 2 x 2 grid
SCORECARD_HEIGHT = 66
REVIEWER_ROW_HEIGHT = {2: 52, 3: 84, 4: 84}  # verdict badges wrap with 3 or more items
CTA_HEIGHT = {"link": 88, "newsletter": 192}  # the newsletter holds its sign-up form
FOOTER_HEIGHT = 40


def public_base() -> str:
    """Return the public base URL of this server, without a trailing slash."""
    return base_url(current_app.config["PUBLIC_URL"], request.host_url)


def base_url(configured: str | None, host_url: str) -> str:
    """Return PUBLIC_URL when it is set, else the URL the request came to, without a slash."""
    return (configured or host_url).rstrip("/")


def embed_token(comparison: Comparison) -> str:
    """Return the signed token that names a comparison in public URLs."""
    return token_for(comparison.id)


def token_for(comparison_id: int) -> str:
    """Return the embed token of the comparison with a database id."""
    return _token(comparison_id, tuple(current_app.config["SECRET_KEYS"]))


@functools.lru_cache(maxsize=4096)
def _token(comparison_id: int, keys: tuple[str, ...]) -> str:
    # An embed token carries no timestamp: the same id and keys always give the same token.
    return signing.sign(signing.EMBED_TOKEN, comparison_id, list(keys))


def reserved_height(document: dict[str, Any]) -> int:
    """Return the height in pixels the widget of a document needs."""
    items = len(document["items"])
    height = HEADER_HEIGHT + ITEMS_HEIGHT[items] + FOOTER_HEIGHT
    if document.get("panel"):
        height += SCORECARD_HEIGHT + REVIEWER_ROW_HEIGHT[items] * len(document["panel"])
    if document.get("cta"):
        height += CTA_HEIGHT[document["cta"]["kind"]]
    return height


def canonical_url(handle: str, slug: str) -> str:
    """Return the URL of a comparison's canonical page."""
    return f"{public_base()}/c/{handle}/{slug}"


def embed_details(comparison: Comparison, document: dict[str, Any]) -> dict[str, Any]:
    """Return what a blogger needs to embed a comparison."""
    base = public_base()
    token = embed_token(comparison)
    url = canonical_url(comparison.publisher.handle, comparison.slug)
    height = reserved_height(document)
    snippet = (
        f'<div class="vswidget" data-vswidget="{token}" style="min-height:{height}px">\n'
        f'  <a href="{escape(url)}">{escape(document["title"])}: '
        "panel verdict and community vote</a>\n"
        "</div>\n"
        f'<script async src="{escape(base)}/widget.js"></script>'
    )
    return {
        "slug": comparison.slug,
        "token": token,
        "snippet": snippet,
        "iframe_url": f"{base}/embed/{token}",
        "url": url,
        "height": height,
    }
