"""Share links: a comparison's page, read-only, for anyone holding the link.

A share link needs no session: it is signed, expires, shows one comparison
read-only and may be limited to one host site.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from ....errors import BadRequest, NotFound, VSWidgetError
from ... import analytics, signing, store
from ...embed import public_base
from ...store import Comparison
from ...visitors import today
from .authentication import me
from .inputs import ShareForm, load
from .pages import comparison_html


class LinkRefused(VSWidgetError):
    status = 403
    default_message = (
        "This share link is not valid: it was changed, cut short, or signed with a key "
        "this server no longer knows. Ask the site owner for a new one."
    )


class LinkExpired(VSWidgetError):
    status = 410
    default_message = "This share link has expired. Ask the site owner for a new one."


@dataclass(frozen=True)
class ShareLink:
    """What a valid share link shows: one comparison, maybe one host site, until when."""

    token: str
    comparison: Comparison
    origin: str | None
    expires: datetime


def share_token(comparison: Comparison, origin: str | None, days: int) -> tuple[str, datetime]:
    """Return a new share link token for a comparison and when it expires."""
    expires = int(time.time()) + days * 24 * 3600
    token = signing.sign(signing.SHARE_LINK, [comparison.public_id, origin, expires])
    return token, datetime.fromtimestamp(expires, UTC)


def read_share(token: str) -> ShareLink:
    """Return what a share link shows; LinkRefused or LinkExpired for a bad one."""
    if len(token) > 1000:
        raise LinkRefused()
    try:
        value = signing.unsign(signing.SHARE_LINK, token)
    except signing.SignatureExpired:
        raise LinkExpired() from None
    except signing.BadSignature:
        raise LinkRefused() from None
    if not (
        isinstance(value, list)
        and len(value) == 3
        and (type(value[0]) is int or isinstance(value[0], str))  # int: a link from before 0009
        and (value[1] is None or isinstance(value[1], str))
        and type(value[2]) is int
    ):
        raise LinkRefused()
    reference, origin, expires = value
    ends = datetime.fromtimestamp(expires, UTC)
    if expires <= time.time():
        raise LinkExpired(
            f"This share link expired on {ends:%Y-%m-%d %H:%M} UTC. "
            "Ask the site owner for a new one."
        )
    comparison = store.comparison_named(reference)
    if comparison is None:
        raise NotFound("The comparison this link showed has been deleted.")
    return ShareLink(token, comparison, origin, ends)


def _known_origins(comparison: Comparison) -> set[str]:
    """Return the host sites that showed a comparison in the past year."""
    until = today()
    return set(analytics.origins(comparison.id, until - timedelta(365), until))


def create_share(slug: str) -> ResponseReturnValue:
    """Make a read-only link to a comparison's page, maybe limited to one host site."""
    comparison = store.get_comparison(me(), slug)
    form = load(ShareForm(), request.form)
    origin = form.get("origin")
    if origin is not None and origin not in _known_origins(comparison):
        raise BadRequest(
            "Choose a host site from the embed locations, or all sites.",
            {"origin": ["Not a host site of this comparison."]},
        )
    token, expires = share_token(comparison, origin, form["days"])
    return render_template(
        "dashboard/share_created.html",
        publisher=me(),
        comparison=comparison,
        title=store.document(comparison)["title"],
        url=public_base() + url_for(".shared", token=token),
        origin=origin,
        expires=expires,
    )


def shared(token: str) -> ResponseReturnValue:
    """A comparison's page, read-only, through a share link; no session needed."""
    link = read_share(token)
    return comparison_html(link.comparison, link, ".shared", ".shared_csv", token=token)
