"""The public payload of a comparison: built once, cached, dropped when it changes.

The cache holds one entry per embed token, language and public base: the payload's JSON,
compressed once (gzip_pieces), and its entity tag. A batch read of a page's widgets is
laid together from those entries, in the order asked, and is never cached itself: no
order, repeat or subset of tokens adds an entry. Entries are kept only for the public
bases public_bases admits, so a Host header cannot add keys either; a warm read is two
cache lookups, for one token or twenty.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from flask import current_app
from flask_caching.backends.base import BaseCache

from ..errors import NotFound
from . import public_bases, signing, store, tallies, tickets
from .embed import canonical_url, embed_token, public_base, token_for
from .extensions import cache
from .gzip_pieces import Piece, compressed, gzip_of, stored, text_of
from .headers import accepts_gzip
from .i18n import LABELS, pick_locale
from .store import Comparison

PAYLOAD_TTL = 300  # seconds; also the most a payload can lag with a per-worker cache
BAD_TOKEN = "No comparison has this embed token."
MAX_TOKENS = 20  # in one batch read
MAX_TOKEN_LENGTH = 200
GENERATION = "payload-generation:"  # + token: moves when the comparison changes


class Payload(NamedTuple):
    pieces: tuple[Piece, ...]  # the JSON text, compressed piece by piece
    etag: str

    @property
    def json(self) -> bytes:
        return text_of(self.pieces)


def _reference(token: str) -> object:
    """Return what an embed token names its comparison by (see store.comparison_named);
    NotFound for a token this server did not sign."""
    try:
        return signing.unsign(signing.EMBED_TOKEN, token)
    except signing.BadSignature:
        raise NotFound(BAD_TOKEN) from None


def comparison_for_token(token: str) -> Comparison:
    """Return the comparison an embed token names; NotFound for a bad or stale token."""
    comparison = store.comparison_named(_reference(token))
    if comparison is None:
        raise NotFound(BAD_TOKEN)
    return comparison


RECENT_SECONDS = 5.0  # the most event ingestion lags a change of a comparison's hosts
MAX_RECENT = 10_000  # comparisons remembered per process


def recent_comparison(token: str) -> Comparison:
    """Return the comparison an embed token names as this process read it at most
    RECENT_SECONDS ago; NotFound for a bad or stale token, never remembered.

    For event batches, the busiest request: a query per batch cost more CPU than its
    budgets. A deleted comparison's events in those seconds fail their flush (5xx,
    nothing of it stored).
    """
    recent: dict[str, tuple[float, Comparison]] = current_app.extensions.setdefault(
        "vswidget.recent-comparisons", {}
    )
    now = time.monotonic()
    seen = recent.get(token)
    if seen is None or now - seen[0] > RECENT_SECONDS:
        if len(recent) >= MAX_RECENT:
            recent.clear()
        seen = recent[token] = (now, comparison_for_token(token))
    return seen[1]


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
        "url": canonical_url(comparison.publisher_handle, comparison.slug),
        "sig": signing.sign(signing.PAYLOAD, [comparison.public_id, comparison.version]),
        "ticket": tickets.shared(comparison.public_id),
        **tallies.tally(document, votes),
        "locale": locale,
        "labels": LABELS[locale],
    }


def _key(token: str, generation: Any, locale: str, base: str) -> str:
    """Return the cache key of a payload: the token's generation, language and public base.

    The base is part of the key because, without PUBLIC_URL, the payload's URLs come
    from the request's Host: a forged Host must never reach another reader's payload.
    """
    return f"payload:{token}:{generation}:{locale}:{base}"


def cached(
    backend: BaseCache, tokens: list[str], lang: str | None, base: str
) -> list[Payload] | None:
    """Return the payloads the cache holds for these tokens, or None when one is missing;
    needs no app context.

    Two lookups for any number of tokens (one round trip each on Redis): the tokens'
    generations, then their entries.
    """
    generations = backend.get_many(*(GENERATION + token for token in tokens))
    if None in generations:
        return None
    locale = pick_locale(lang, "")
    keys = [_key(token, gen, locale, base) for token, gen in zip(tokens, generations, strict=True)]
    found = backend.get_many(*keys)
    if None in found:
        return None
    return [Payload((Piece(text, deflated, crc),), etag) for text, deflated, crc, etag in found]


def _generation(backend: BaseCache, token: str) -> Any:
    """Return the token's generation, making one when it has none (or None: no cache).

    A new generation, rather than none, when the key has expired or been evicted:
    entries made under an earlier one are never read again.
    """
    found = backend.get(GENERATION + token)
    if found is None:
        backend.add(GENERATION + token, time.time_ns(), timeout=0)
        found = backend.get(GENERATION + token)
    return found


def payload(token: str, lang: str | None) -> Payload:
    """Return the cached payload for a token, building it on a miss."""
    base = public_base()
    found = cached(cache.cache, [token], lang, base)
    if found is not None:
        return found[0]
    _reference(token)  # only a token this server signed gets a generation key
    generation = _generation(cache.cache, token)  # before reading: a change meanwhile moves it
    chosen = pick_locale(lang, "")  # "": the document's own language
    data = payload_data(comparison_for_token(token), chosen or None, token)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    piece, etag = compressed(text), hashlib.sha256(text).hexdigest()[:20]
    if generation is not None and public_bases.admit(base):
        cache.set(_key(token, generation, chosen, base), (*piece, etag), timeout=PAYLOAD_TTL)
    return Payload((piece,), etag)


def batch(tokens: list[str], lang: str | None) -> Payload:
    """Return the answer to a batch read: the payloads by token, and the bad tokens' errors."""
    answers: list[tuple[str, Payload]] = []
    errors: dict[str, str] = {}
    for token in tokens:
        try:
            if len(token) > MAX_TOKEN_LENGTH:
                raise NotFound(BAD_TOKEN)
            answers.append((token, payload(token, lang)))
        except NotFound as error:
            errors[token] = error.message
    return batch_of(answers, errors)


def batch_of(answers: Sequence[tuple[str, Payload]], errors: dict[str, str]) -> Payload:
    """Return a batch answer laid together from its payloads, without compressing them again.

    Its entity tag is made of the payloads' own, so it costs no pass over the text.
    """
    pieces: list[Piece] = []
    opening = '{"payloads":{'
    for token, answer in answers:
        pieces += [_between(f"{opening}{json.dumps(token)}:"), *answer.pieces]
        opening = ","
    closing = f'}},"errors":{json.dumps(errors)}}}'
    pieces.append(_between(closing if answers else opening + closing))
    tags = [f"{token} {answer.etag}" for token, answer in answers] + [json.dumps(errors)]
    return Payload(tuple(pieces), hashlib.sha256("\n".join(tags).encode()).hexdigest()[:20])


@functools.lru_cache(maxsize=256)  # at most about 5 KB each: a batch's errors
def _between(text: str) -> Piece:
    """Return the text between a batch's payloads as a piece; the same few recur on every read."""
    return stored(text.encode())


def content(built: Payload, accept_encoding: str | None) -> tuple[bytes, dict[str, str]]:
    """Return the bytes to send for a payload and their entity headers: gzip when accepted.

    The answer varies with the request's Accept-Encoding: say so with ``Vary``.
    """
    headers = {"Content-Type": "application/json"}
    if accepts_gzip(accept_encoding):
        return gzip_of(built.pieces), headers | {"Content-Encoding": "gzip"}
    return built.json, headers


def forget(comparison_id: int, public_id: str) -> None:
    """Make every cached payload of a comparison stale, after it changed.

    A new generation of its tokens' keys, the token of today's form and the one signed
    before 0009: the old entries, in every language and for every host, are never read
    again and expire on their own.
    """
    for reference in (public_id, comparison_id):
        cache.set(GENERATION + token_for(reference), time.time_ns(), timeout=0)
