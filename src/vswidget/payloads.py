"""The public payload of a comparison: built once, cached, dropped when it changes.

A payload is cached as its JSON text with its entity tag, keyed by embed token
and language, so a warm read is a signature check and one cache lookup.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, NamedTuple

from . import signing, store, tallies
from .embed import canonical_url, embed_token, public_base, reserved_height
from .errors import NotFound
from .extensions import cache
from .i18n import LABELS, pick_locale
from .models import Comparison

PAYLOAD_TTL = 300  # seconds; also the most a payload can lag with a per-worker cache
BAD_TOKEN = "No comparison has this embed token."


class Payload(NamedTuple):
    json: str
    etag: str


def comparison_for_token(token: str) -> Comparison:
    """Return the comparison an embed token names; NotFound for a bad or stale token."""
    try:
        comparison_id = signing.unsign(signing.EMBED_TOKEN, token)
    except signing.BadSignature:
        raise NotFound(BAD_TOKEN) from None
    comparison = store.comparison_by_id(comparison_id) if isinstance(comparison_id, int) else None
    if comparison is None:
        raise NotFound(BAD_TOKEN)
    return comparison


def payload_data(comparison: Comparison, lang: str | None) -> dict[str, Any]:
    """Return the payload of a comparison as a dict, labels in the chosen language."""
    document = store.document(comparison)
    votes = store.vote_counts([comparison.id]).get(comparison.id, {})
    locale = pick_locale(lang, document["locale"])
    return {
        "token": embed_token(comparison),
        "url": canonical_url(comparison.publisher.handle, comparison.slug),
        "height": reserved_height(document),
        "sig": signing.sign(signing.PAYLOAD, [comparison.id, comparison.version]),
        "ticket": signing.sign(signing.VOTE_TICKET, comparison.id),
        **tallies.tally(document, votes),
        "locale": locale,
        "labels": LABELS[locale],
    }


def _key(token: str, locale: str) -> str:
    """Return the cache key of a payload: the token's generation, language and public base.

    The base is part of the key because, without PUBLIC_URL, the payload's URLs come
    from the request's Host: a forged Host must never reach another reader's payload.
    """
    generation = cache.get(f"payload-generation:{token}") or 0
    return f"payload:{token}:{generation}:{locale}:{public_base()}"


def payload(token: str, lang: str | None) -> Payload:
    """Return the cached payload for a token, building it on a miss."""
    chosen = pick_locale(lang, "")  # "": the document's own language
    key = _key(token, chosen)
    cached = cache.get(key)
    if cached is not None:
        return Payload(*cached)
    data = payload_data(comparison_for_token(token), chosen or None)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    built = Payload(text, hashlib.sha256(text.encode()).hexdigest()[:20])
    cache.set(key, tuple(built), timeout=PAYLOAD_TTL)
    return built


def forget(comparison: Comparison) -> None:
    """Make every cached payload of a comparison stale, after it changed.

    A new generation of the token's keys: the old entries, in every language and
    for every host, are never read again and expire on their own.
    """
    cache.set(f"payload-generation:{embed_token(comparison)}", time.time_ns(), timeout=0)
