"""What readers send: votes, newsletter sign-ups and analytics events.

Bodies are small JSON sent CORS-simple (text/plain, no credentials). No cookie is
read or set and no address is stored: a reader is known by a vote ticket, today's
visitor hash, and the receipt they keep in their own storage.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from crawlerdetect import CrawlerDetect
from flask import Blueprint, Response, current_app, redirect, request
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError
from werkzeug.wrappers import Response as WerkzeugResponse

from ...errors import (
    AuthenticationError,
    BadRequest,
    Forbidden,
    NotFound,
    UnsupportedMediaType,
    ValidationError,
    validation_error,
)
from .. import event_budgets, inbound, payloads, signing, store, tickets, user_agents, visitors
from ..address_limits import allows, per_address
from ..api_schemas import EventBatchSchema, SignupSchema, VoteSchema
from ..embed import public_base
from ..page_urls import HostPage, host_page
from ..store import Comparison
from ..tallies import percent

bp = Blueprint("readers", __name__)

MAX_BODY_BYTES = 4096
BODY_TYPES = {"text/plain", "application/json", ""}  # "": no Content-Type at all
crawlers = CrawlerDetect()
# A schema holds no state between loads: one instance of each serves every request.
VOTE, SIGNUP, EVENT_BATCH = VoteSchema(), SignupSchema(), EventBatchSchema()


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    response.headers["Cache-Control"] = "no-store"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def read_body(schema: Schema) -> dict[str, Any]:
    """Return a small JSON body, validated; every refusal is a 4xx that changes nothing."""
    if request.mimetype not in BODY_TYPES:
        raise UnsupportedMediaType("Send the body as JSON, with Content-Type text/plain.")
    request.max_content_length = MAX_BODY_BYTES
    try:
        data = inbound.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.") from None
    try:
        loaded: dict[str, Any] = schema.load(data)
    except SchemaError as error:
        raise validation_error(error.messages, "request") from error
    return loaded


GONE = "This comparison no longer exists."


class Ticket(NamedTuple):
    """A vote ticket, read: the comparison it names, and its signed value (tickets.py)."""

    comparison: store.ComparisonKeys
    value: Any


def read_ticket(ticket: str) -> Ticket:
    """Return what a vote ticket names, without reading the comparison's row."""
    try:
        value = signing.unsign(signing.VOTE_TICKET, ticket)
    except signing.SignatureExpired:
        raise AuthenticationError(
            "The vote ticket has expired: load the comparison again.", {"ticket": ["Expired."]}
        ) from None
    except signing.BadSignature:
        raise BadRequest("The vote ticket is not valid.", {"ticket": ["Not valid."]}) from None
    keys = store.comparison_keys(tickets.reference(value))
    if keys is None:
        raise NotFound(GONE)
    return Ticket(keys, value)


def ticket_comparison(ticket: Ticket) -> Comparison:
    """Return the comparison a vote ticket names."""
    comparison = store.comparison_named(ticket.comparison.public_id)
    if comparison is None:
        raise NotFound(GONE)
    return comparison


def sender_host(ticket: Ticket) -> str | None:
    """Return the host of the page a vote or sign-up comes from, as its browser says.

    Browsers send ``Origin`` with every POST: its host. ``Origin: null`` (an opaque origin:
    a sandboxed frame, a data: URL) is our own host when the ticket is the iframe form's,
    given to this reader (tickets.py), and "" otherwise. None without ``Origin``: not a
    browser, which could have claimed any origin; the limits per address bound it.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if origin == "null":
        if not tickets.is_this_readers_frame(ticket.value):
            return ""
        origin = public_base()
    page = host_page(origin)
    return page.host if page else ""


def refuse_other_sites(ticket: Ticket, comparison: Comparison | None = None) -> None:
    """Refuse (403, naming the field ``origin``) a vote or sign-up from a page that the
    comparison's hosts leave out; change nothing."""
    host = sender_host(ticket)
    if host is None or host_allowed(host, comparison or ticket_comparison(ticket)):
        return
    where = host or "a page without an origin (Origin: null)"
    message = (
        f"Votes and sign-ups from {where} are refused: "
        "the comparison's hosts setting does not list it."
    )
    raise Forbidden(message, {"origin": [message]})


def receipt_vote(receipt: str | None, comparison_id: int) -> str | int | None:
    """Return the vote a reader's receipt names, if it is genuine and for this comparison:
    its voter key, or its database id in a receipt signed before 0009."""
    if not receipt:
        return None
    try:
        reference, vote = signing.unsign(signing.VOTE_RECEIPT, receipt)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    keys = store.comparison_keys(reference)
    if keys is None or keys.id != comparison_id:
        return None
    return vote if isinstance(vote, str) or type(vote) is int else None


@bp.post("/v1/votes")
@per_address("VOTE_RATE_LIMIT")
def vote() -> dict[str, Any]:
    """Count a reader's vote, or move it; answer the new shares."""
    body = read_body(VOTE)
    ticket = read_ticket(body["ticket"])
    refuse_other_sites(ticket)
    comparison = ticket.comparison
    voter = visitors.visitor_hash(f"vote:{comparison.id}")
    kept = receipt_vote(body.get("receipt"), comparison.id)
    cast = store.cast_vote(comparison.id, body["item"], voter, kept)
    payloads.forget(comparison.id, comparison.public_id)
    total = sum(cast.counts.values())
    return {
        "choice": cast.item_key,
        "receipt": signing.sign(signing.VOTE_RECEIPT, [comparison.public_id, cast.voter]),
        "votes": total,
        "items": {
            key: {"votes": count, "community": percent(count, total)}
            for key, count in cast.counts.items()
        },
    }


@bp.post("/v1/signups")
@per_address("SIGNUP_RATE_LIMIT")
def signup() -> dict[str, bool]:
    """Sign a reader up for the publisher's newsletter, with their consent."""
    body = read_body(SIGNUP)
    ticket = read_ticket(body["ticket"])
    comparison = ticket_comparison(ticket)
    refuse_other_sites(ticket, comparison)
    if (store.document(comparison).get("cta") or {}).get("kind") != "newsletter":
        raise ValidationError("This comparison offers no newsletter to sign up for.")
    if not body.get("website"):  # a filled honeypot is a bot: it is told nothing
        store.add_signup(comparison, body["email"])
    return {"ok": True}


def host_allowed(host: str, comparison: Comparison) -> bool:
    """Say whether a comparison takes events, votes and sign-ups from ``host`` (its
    ``hosts``, if any).

    Our own pages (the iframe form, the canonical page) are always allowed.
    """
    patterns = _hosts(comparison.document)
    if not patterns or host == urlsplit(public_base()).hostname:
        return True
    return any(
        host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
        for pattern in patterns
    )


@functools.lru_cache(maxsize=256)
def _hosts(document: str) -> tuple[str, ...]:
    """Return the ``hosts`` of a stored document: parsed once per version of a comparison
    that is taking events, not once per batch."""
    return tuple(json.loads(document).get("hosts") or ())


@bp.get("/go/<link>")
def go(link: str) -> WerkzeugResponse:
    """Redirect to an item's stored URL, and count the click: the iframe form's links go
    here, which WordPress can open from its sandbox. Never to any other URL."""
    try:
        reference, item_key = signing.unsign(signing.ITEM_LINK, link)
    except (signing.BadSignature, TypeError, ValueError):
        raise NotFound("This link is not valid.") from None
    comparison = store.comparison_named(reference)
    items = store.document(comparison)["items"] if comparison else []
    url = next((item.get("url") for item in items if item["key"] == item_key), None)
    if comparison is None or url is None:
        raise NotFound("This item is no longer in the comparison.")
    _count_click(comparison, item_key)
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _count_click(comparison: Comparison, item_key: str) -> None:
    """Offer a click event for the page the reader came from (its origin, all a browser
    sends another site) to the day's budgets, unless it is a bot's."""
    if is_crawler(request.headers.get("User-Agent", "")):
        return
    page = host_page(request.referrer or public_base())
    if page is None:
        return
    event = {"type": "click", "item_key": item_key}
    _take(page, None, {comparison.id: (comparison, [event])})


@functools.lru_cache(maxsize=4096)
def is_crawler(user_agent: str) -> bool:
    """Say whether a User-Agent is a bot's; remembered, for matching one costs more than
    storing its events, and a page's readers send a few User-Agents again and again."""
    return bool(crawlers.isCrawler(user_agent))


@bp.post("/v1/events")
def events() -> tuple[str, int]:
    """Store a batch of widget events within the day's budgets; bots are dropped by their
    user agent. Events over a budget or from a site the comparison does not take events
    from are dropped and counted (event_budgets.py): the widget is answered 204 either way.
    Well-formed batches are mostly taken in front of Flask (event_intake.py)."""
    if is_crawler(request.headers.get("User-Agent", "")):
        return "", 204
    take_events(read_body(EVENT_BATCH))
    return "", 204


def take_events(body: dict[str, Any]) -> None:
    """Offer a batch as EVENT_BATCH loads it to the day's budgets and store what they
    admit; a page that is not http(s) or a bad token is refused before anything counts."""
    try:
        referrer = urlsplit(body.get("referrer") or "").hostname
    except ValueError:
        referrer = None
    page = host_page(body["page"])
    if page is None:
        raise ValidationError("The page must be an http(s) URL.", {"page": ["Not an http(s) URL."]})
    # A batch names one or two comparisons, so each token is looked up once.
    found: dict[str, Comparison] = {}
    offered: dict[int, tuple[Comparison, list[dict[str, Any]]]] = {}
    for index, event in enumerate(body["events"]):
        token = event["token"]
        if token not in found:
            try:
                found[token] = payloads.recent_comparison(token)
            except NotFound:
                raise NotFound(
                    payloads.BAD_TOKEN, {f"events.{index}.token": [payloads.BAD_TOKEN]}
                ) from None
        comparison = found[token]
        events = offered.setdefault(comparison.id, (comparison, []))[1]
        events.append({"type": event["type"], "item_key": event.get("item")})
    _take(page, referrer[:255] if referrer else None, offered)


def _take(
    page: HostPage,
    referrer: str | None,
    offered: dict[int, tuple[Comparison, list[dict[str, Any]]]],
) -> None:
    """Offer each comparison's events from ``page`` to the day's budgets, with this
    reader's hash for that comparison; all of them are dropped, and counted, when the
    reader is over EVENT_RATE_LIMIT or the comparison does not take events from the site.
    Each event keeps the classes of the sender's user agent, never the header itself."""
    within_rate = allows("EVENT_RATE_LIMIT")
    sender = user_agents.classify(request.headers.get("User-Agent", ""))._asdict()
    offers = []
    for comparison_id, (comparison, events) in offered.items():
        visitor = visitors.visitor_hash(f"view:{comparison_id}")
        refused = None
        if not host_allowed(page.host, comparison):
            refused = event_budgets.OTHER_HOST
        elif not within_rate:
            refused = event_budgets.OVER_BUDGET
        rows = [{**event, **sender, "visitor": visitor} for event in events]
        offers.append(event_budgets.Offer(comparison_id, rows, refused))
    batch = event_budgets.Batch(
        visitors.today(), visitors.address_hash(), page.origin, page.path, referrer, offers
    )
    event_budgets.take(batch, event_budgets.Budgets.of(current_app.config))
