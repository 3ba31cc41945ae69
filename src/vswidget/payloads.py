"""The public payload of a comparison: built once, cached, dropped when it changes.

A payload is cached as its JSON text with its entity tag, keyed by embed token
and language, so a warm read is a signature check and one cache lookup.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, NamedTuple

from flask_caching.backends.base import BaseCache

from . import signing, store, tallies
from .embed import canonical_url, embed_token, public_base, reserved_height
from .errors import NotFound
from .extensions import cache
from .i18n import LABELS, pick_locale
from .models import Comparison

PAYLOAD_TTL = 300  # seconds; also the most a payload can lag with a per-worker cache
BAD_TOKEN = "No comparison has this embed token."
MAX_TOKENS = 20  # in one batch read
MAX_TOKEN_LENGTH = 200


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


def _key(backend: BaseCache, token: str, locale: str, base: str) -> str:
    """Return the cache key of a payload: the token's generation, language and public base.

    The base is part of the key because, without PUBLIC_URL, the payload's URLs come
    from the request's Host: a forged Host must never reach another reader's payload.
    """
    generation = backend.get(f"payload-generation:{token}") or 0
    return f"payload:{token}:{generation}:{locale}:{base}"


def cached(backend: BaseCache, token: str, lang: str | None, base: str) -> Payload | None:
    """Return the payload the cache holds for a token, or None; needs no app context."""
    found = backend.get(_key(backend, token, pick_locale(lang, ""), base))
    return None if found is None else Payload(*found)


def payload(token: str, lang: str | None) -> Payload:
    """Return the cached payload for a token, building it on a miss."""
    base = public_base()
    found = cached(cache.cache, token, lang, base)
    if found is not None:
        return found
    chosen = pick_locale(lang, "")  # "": the document's own language
    data = payload_data(comparison_for_token(token), chosen or None)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    built = Payload(text, hashlib.sha256(text.encode()).hexdigest()[:20])
    cache.set(_key(cache.cache, token, chosen, base), tuple(built), timeout=PAYLOAD_TTL)
    return built


def batch(found: dict[str, Payload], errors: dict[str, str]) -> Payload:
    """Return the answer to a batch read: the payloads by token, and the bad tokens' errors."""
    bodies = ",".join(f"{json.dumps(token)}:{built.json}" for token, built in found.items())
    text = f'{{"payloads":{{{bodies}}},"errors":{json.dumps(errors)}}}'
    tags = [built.etag for built in found.values()] + list(errors)
    return Payload(text, hashlib.sha256(" ".join(tags).encode()).hexdigest()[:20])


def forget(comparison: Comparison) -> None:
    """Make every cached payload of a comparison stale, after it changed.

    A new generation of the token's keys: the old entries, in every language and
    for every host, are never read again and expire on their own.
    """
    cache.set(f"payload-generation:{embed_token(comparison)}", time.time_ns(), timeout=0)
