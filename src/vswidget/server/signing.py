"""A serializer per purpose, each with its own salt, over a rotating key list.

``SECRET_KEYS`` is ordered oldest to newest: the newest key signs and every key
verifies, so adding a key breaks no token already handed out. A token signed
for one purpose never verifies for another.

Signed is not secret: anyone can decode a token. So tokens name a comparison by its
random public id, never by a sequential database id, which would tell the platform's
volumes; tokens signed before 0009 carry the database id, and still verify.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

__all__ = [
    "EMBED_TOKEN",
    "ITEM_LINK",
    "PAYLOAD",
    "SHARE_LINK",
    "VOTE_RECEIPT",
    "VOTE_TICKET",
    "BadSignature",
    "Purpose",
    "SignatureExpired",
    "sign",
    "unsign",
]


@dataclass(frozen=True)
class Purpose:
    """What a token is for: its salt, how long it stays valid (None: always), and the
    step its timestamp is rounded down to (None: the second it was signed)."""

    salt: str
    max_age: int | None = None
    step: int | None = None


class _SteppedSigner(TimestampSigner):
    step = 1

    def get_timestamp(self) -> int:
        return int(time.time()) // self.step * self.step


@functools.cache
def _stepped(step: int) -> type[_SteppedSigner]:
    return type(f"Every{step}sSigner", (_SteppedSigner,), {"step": step})


# Names a comparison: its public id.
EMBED_TOKEN = Purpose("vswidget.server.embed-token")
# Names the revision of a comparison a reader was shown: [public id, version].
PAYLOAD = Purpose("vswidget.payload")
# Comes with the payload and goes with a vote or sign-up: names the comparison (public
# id) and proves a payload fetched lately. Shared by the readers of a cached payload.
# Signed on the hour, so a payload built twice within an hour is the same bytes (and
# the same ETag); it stays valid 6 to 7 hours.
VOTE_TICKET = Purpose("vswidget.vote-ticket", max_age=6 * 3600, step=3600)
# Given to a reader for their vote, kept in their own storage: [public id, the vote's
# voter key], the visitor hash the vote was first cast with.
VOTE_RECEIPT = Purpose("vswidget.vote-receipt")
# An item's link in the iframe form, which cannot open links itself inside WordPress's
# sandbox: /go/TOKEN redirects to the stored URL of [public id, item key], and counts
# the click.
ITEM_LINK = Purpose("vswidget.item-link")
# A read-only dashboard link: [public id, host origin or None, expiry (Unix
# seconds)]. The link's own expiry is checked by the dashboard; a year at most.
SHARE_LINK = Purpose("vswidget.share-link", max_age=366 * 24 * 3600)


def _serializer(
    purpose: Purpose, keys: list[str] | None
) -> URLSafeSerializer | URLSafeTimedSerializer:
    return _made_serializer(
        purpose, tuple(current_app.config["SECRET_KEYS"] if keys is None else keys)
    )


@functools.lru_cache(maxsize=64)
def _made_serializer(
    purpose: Purpose, keys: tuple[str, ...]
) -> URLSafeSerializer | URLSafeTimedSerializer:
    # A token that never expires carries no timestamp, so signing it twice gives one token.
    if purpose.max_age is None:
        return URLSafeSerializer(keys, salt=purpose.salt)
    if purpose.step is None:
        return URLSafeTimedSerializer(keys, salt=purpose.salt)
    return URLSafeTimedSerializer(keys, salt=purpose.salt, signer=_stepped(purpose.step))


def sign(purpose: Purpose, value: Any, keys: list[str] | None = None) -> str:
    """Return ``value`` signed for ``purpose`` with the newest key."""
    return _serializer(purpose, keys).dumps(value)


def unsign(purpose: Purpose, token: str, keys: list[str] | None = None) -> Any:
    """Return the value inside a token signed for ``purpose`` with any known key.

    Raises ``SignatureExpired`` (a subclass of ``BadSignature``) for a token
    older than the purpose's ``max_age``, ``BadSignature`` for any other bad token.
    """
    serializer = _serializer(purpose, keys)
    if isinstance(serializer, URLSafeTimedSerializer):
        return serializer.loads(token, max_age=purpose.max_age)
    return serializer.loads(token)
