"""The public payload of a comparison: built once, cached, dropped when it changes.

A payload is cached as its JSON text, its entity tag and its gzip bytes, keyed by
embed token, language and public base, so a warm read is two cache lookups; the
answer to a batch read of a page's widgets is cached as a whole the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from typing import Any, NamedTuple

from flask_caching.backends.base import BaseCache

from . import signing, store, tallies
from .embed import canonical_url, embed_token, public_base, token_for
from .errors import NotFound
from .extensions import cache
from .headers import accepts_gzip
from .i18n import LABELS, pick_locale
from .models import Comparison

PAYLOAD_TTL = 300  # seconds; also the most a payload can lag with a per-worker cache
BAD_TOKEN = "No comparison has this embed token."
MAX_TOKENS = 20  # in one batch read
MAX_TOKEN_LENGTH = 200


class Payload(NamedTuple):
    json: str
    etag: str
    gzip: bytes  # the JSON compressed once, for readers whose browser accepts gzip


def _built(text: str) -> Payload:
    data = text.encode()
    return Payload(text, hashlib.sha256(data).hexdigest()[:20], gzip.compress(data, mtime=0))


def comparison_for_token(token: str) -> Comparison:
    """Return the comparison an embed token names; NotFound for a bad or stale token."""
    try:
        reference = signing.unsign(signing.EMBED_TOKEN, token)
    except signing.BadSignature:
        raise NotFound(BAD_TOKEN) from None
    comparison = store.comparison_named(reference)
    if comparison is None:
        raise NotFound(BAD_TOKEN)
    return comparison


def payload_data(
    comparison: Comparison, lang: str | None, token: str | None = None
) -> dict[str, Any]:
    """Return the payload of a comparison as a dict, labels in the chosen language.

    ``token`` is the embed token it was asked for, which the widget keeps the reader's
    pick under: an old-form token stays the key of the picks made through it.
    """
    document = store.document(comparison)
    votes = store.vote_counts([comparison.id]).get(comparison.id, {})
    locale = pick_locale(lang, document["locale"])
    return {
        "token": token or embed_token(comparison),
        "url": canonical_url(comparison.publisher.handle, comparison.slug),
        "sig": signing.sign(signing.PAYLOAD, [comparison.public_id, comparison.version]),
        "ticket": signing.sign(signing.VOTE_TICKET, comparison.public_id),
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


def _batch_key(backend: BaseCache, tokens: list[str], lang: str | None, base: str) -> str:
    """Return the cache key of a batch: it moves when any of its payloads' keys moves."""
    locale = pick_locale(lang, "")
    keys = "\n".join(_key(backend, token, locale, base) for token in tokens)
    return "payloads:" + hashlib.sha256(keys.encode()).hexdigest()


def _get(backend: BaseCache, key: str) -> Payload | None:
    found = backend.get(key)
    return None if found is None else Payload(*found)


def cached(backend: BaseCache, token: str, lang: str | None, base: str) -> Payload | None:
    """Return the payload the cache holds for a token, or None; needs no app context."""
    return _get(backend, _key(backend, token, pick_locale(lang, ""), base))


def cached_batch(
    backend: BaseCache, tokens: list[str], lang: str | None, base: str
) -> Payload | None:
    """Return the batch answer the cache holds for these tokens, or None; needs no app context."""
    return _get(backend, _batch_key(backend, tokens, lang, base))


def payload(token: str, lang: str | None) -> Payload:
    """Return the cached payload for a token, building it on a miss."""
    base = public_base()
    found = cached(cache.cache, token, lang, base)
    if found is not None:
        return found
    chosen = pick_locale(lang, "")  # "": the document's own language
    data = payload_data(comparison_for_token(token), chosen or None, token)
    built = _built(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    cache.set(_key(cache.cache, token, chosen, base), tuple(built), timeout=PAYLOAD_TTL)
    return built


def batch(tokens: list[str], lang: str | None) -> Payload:
    """Return the answer to a batch read: the payloads by token, and the bad tokens' errors.

    An answer without errors is cached as a whole, so the next reader of the page gets
    it, compressed already, from one lookup.
    """
    key = _batch_key(cache.cache, tokens, lang, public_base())
    found = _get(cache.cache, key)
    if found is not None:
        return found
    bodies: list[str] = []
    errors: dict[str, str] = {}
    for token in tokens:
        try:
            if len(token) > MAX_TOKEN_LENGTH:
                raise NotFound(BAD_TOKEN)
            bodies.append(f"{json.dumps(token)}:{payload(token, lang).json}")
        except NotFound as error:
            errors[token] = error.message
    built = _built(f'{{"payloads":{{{",".join(bodies)}}},"errors":{json.dumps(errors)}}}')
    if not errors:
        cache.set(key, tuple(built), timeout=PAYLOAD_TTL)
    return built


def content(built: Payload, accept_encoding: str | None) -> tuple[bytes, dict[str, str]]:
    """Return the bytes to send for a payload and their entity headers: gzip when accepted.

    The answer varies with the request's Accept-Encoding: say so with ``Vary``.
    """
    headers = {"Content-Type": "application/json"}
    if accepts_gzip(accept_encoding):
        return built.gzip, headers | {"Content-Encoding": "gzip"}
    return built.json.encode(), headers


def forget(comparison_id: int, public_id: str) -> None:
    """Make every cached payload of a comparison stale, after it changed.

    A new generation of its tokens' keys, the token of today's form and the one signed
    before 0009: the old entries, in every language and for every host, are never read
    again and expire on their own.
    """
    for reference in (public_id, comparison_id):
        cache.set(f"payload-generation:{token_for(reference)}", time.time_ns(), timeout=0)
