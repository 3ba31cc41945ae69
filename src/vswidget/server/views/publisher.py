"""The publisher REST API under /api/v1, behind an API key.

A publisher sees and changes only its own comparisons: another publisher's
slug answers 404, exactly as a slug that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ...errors import AuthenticationError, NotFound, UnsupportedMediaType, ValidationError
from ...schemas import ComparisonSchema, EmbedSchema
from .. import analytics, payloads, store, tallies
from ..api_schemas import (
    ForgottenSchema,
    HostPageQuerySchema,
    SignupOutSchema,
    StatsQuerySchema,
    StatsSchema,
    SummarySchema,
    WebhookSchema,
)
from ..date_range import DateRange
from ..embed import embed_details, public_base
from ..extensions import limiter
from ..inbound import JSONBodyParser
from ..live_schemas import LiveQuerySchema, LiveStatsSchema
from ..models import utcnow
from ..page_urls import HostPage
from ..store import Comparison, Publisher
from ..webhook_signatures import receiver_secret

TOP_SEGMENTS = 10  # sources, devices and browsers the stats answer lists, before the others


class PublisherBlueprint(Blueprint):  # type: ignore[misc]
    """Reads JSON bodies refusing what no field could hold (``inbound.loads``)."""

    ARGUMENTS_PARSER = JSONBodyParser()


blp = PublisherBlueprint(
    "publisher",
    __name__,
    url_prefix="/api/v1",
    description="Publish, update, list and delete your comparisons.",
)
BEARER = {"WWW-Authenticate": 'Bearer realm="vswidget"'}
# Guessing API keys: an address whose failed authentications reach the limit is
# answered 429 before any key it sends is looked up, valid or not, until the window
# passes. Requests with a valid key never count.
limiter.shared_limit(
    lambda: current_app.config["AUTH_FAILURE_RATE_LIMIT"],
    scope="api-key-failures",  # one count for every endpoint of the API
    deduct_when=lambda response: response.status_code == AuthenticationError.status,
)(blp)
# No table holds this many rows; a page past it is past the end, and empty, on every
# database (SQLite and PostgreSQL refuse an OFFSET over 2**63 - 1).
MAX_OFFSET = 2**62


@blp.before_request
def authenticate() -> None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError(headers=BEARER)
    publisher = store.publisher_for_api_key(key.strip())
    if publisher is None:
        raise AuthenticationError("This API key is not valid or has been revoked.", headers=BEARER)
    g.publisher = publisher
    if request.method in {"POST", "PUT"} and not request.is_json:
        raise UnsupportedMediaType()


def first_item(pagination_parameters: Any) -> int:
    """Return the offset of a page's first row, within what every database can count."""
    return min(int(pagination_parameters.first_item), MAX_OFFSET)


def served(comparison: Comparison) -> dict[str, Any]:
    """Return a comparison as the API serves it: document, computed fields, embed details."""
    document = store.document(comparison)
    votes = store.vote_counts([comparison.id]).get(comparison.id, {})
    return {
        **tallies.tally(document, votes),
        "created_at": comparison.created_at,
        "updated_at": comparison.updated_at,
        "embed": embed_details(comparison, document),
    }


def etag_header(comparison: Comparison) -> dict[str, str]:
    return {"ETag": f'"{store.etag(comparison)}"'}


def api_url(slug: str) -> str:
    """Return the API URL of a comparison, under the public base URL."""
    return public_base() + url_for(".OneComparison", slug=slug)


@blp.route("/comparisons")
class Comparisons(MethodView):
    @blp.response(200, SummarySchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, pagination_parameters: Any) -> list[dict[str, Any]]:
        """List your comparisons, by slug, a page at a time."""
        comparisons, total = store.list_comparisons(
            g.publisher, first_item(pagination_parameters), pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        counts = store.vote_counts(c.id for c in comparisons)
        return [
            {
                "slug": c.slug,
                "title": store.document(c)["title"],
                "votes": sum(counts.get(c.id, {}).values()),
                "created_at": c.created_at,
                "updated_at": c.updated_at,
                "url": api_url(c.slug),
            }
            for c in comparisons
        ]

    @blp.arguments(ComparisonSchema)
    @blp.response(201, ComparisonSchema)
    @blp.alt_response(409, description="A comparison with this slug exists already.")
    def post(self, document: dict[str, Any]) -> Any:
        """Create a comparison; 409 if the slug is taken (PUT replaces)."""
        comparison, _ = store.save_comparison(g.publisher, document, create_only=True)
        location = {"Location": api_url(comparison.slug)}
        return served(comparison), 201, {**etag_header(comparison), **location}


@blp.route("/comparisons/<slug>")
class OneComparison(MethodView):
    @blp.response(200, ComparisonSchema)
    def get(self, slug: str) -> Any:
        """Read one comparison with its computed fields and an ETag."""
        comparison = store.get_comparison(g.publisher, slug)
        return served(comparison), 200, etag_header(comparison)

    @blp.arguments(ComparisonSchema)
    @blp.response(200, ComparisonSchema)
    @blp.alt_response(201, schema=ComparisonSchema, description="Created.")
    @blp.alt_response(412, description="If-Match or If-None-Match did not hold.")
    def put(self, document: dict[str, Any], slug: str) -> Any:
        """Create or replace a comparison; send If-Match with its ETag to replace safely.

        Replacing keeps the votes of items whose keys remain.
        """
        if document["slug"] != slug:
            raise ValidationError(
                f"The document is not valid: slug: Must be '{slug}', as in the URL.",
                {"slug": [f"Must be '{slug}', as in the URL."]},
            )
        comparison, created = store.save_comparison(
            g.publisher,
            document,
            if_match=request.if_match,
            if_none_match=request.if_none_match,
        )
        payloads.forget(comparison.id, comparison.public_id)
        if created:
            headers = {**etag_header(comparison), "Location": api_url(comparison.slug)}
            return served(comparison), 201, headers
        return served(comparison), 200, etag_header(comparison)

    @blp.response(204)
    @blp.alt_response(412, description="If-Match did not hold.")
    def delete(self, slug: str) -> None:
        """Delete a comparison, its votes and its embed token."""
        deleted = store.delete_comparison(g.publisher, slug, if_match=request.if_match)
        payloads.forget(deleted.id, deleted.public_id)


@blp.route("/comparisons/<slug>/embed")
class Embed(MethodView):
    @blp.response(200, EmbedSchema)
    def get(self, slug: str) -> dict[str, Any]:
        """Return the snippet, token and URLs to embed a comparison."""
        comparison = store.get_comparison(g.publisher, slug)
        return embed_details(comparison, store.document(comparison))


def signup_rows(signups: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "email": s.email,
            "comparison": s.comparison,
            "created_at": s.created_at,
        }
        for s in signups
    ]


@blp.route("/comparisons/<slug>/signups")
class ComparisonSignups(MethodView):
    @blp.response(200, SignupOutSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=1000)
    def get(self, slug: str, pagination_parameters: Any) -> list[dict[str, Any]]:
        """List the newsletter sign-ups made through one comparison, newest first."""
        signups, total = store.list_signups(
            g.publisher, slug, first_item(pagination_parameters), pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return signup_rows(signups)


@blp.route("/signups")
class Signups(MethodView):
    @blp.response(200, SignupOutSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=1000)
    def get(self, pagination_parameters: Any) -> list[dict[str, Any]]:
        """List all your newsletter sign-ups, newest first."""
        signups, total = store.list_signups(
            g.publisher, None, first_item(pagination_parameters), pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return signup_rows(signups)


@blp.route("/signups/<path:email>")
class SignupAddress(MethodView):
    @blp.response(200, ForgottenSchema)
    def delete(self, email: str) -> dict[str, int]:
        """Forget an address: delete its sign-ups (any letter case) and pending deliveries."""
        return {"deleted": store.delete_signups(g.publisher, email)}


def shown_webhook(publisher: Publisher) -> dict[str, Any]:
    """Return a publisher's webhook as the API shows it: the secret in the standard form."""
    assert publisher.webhook_secret  # set with the URL
    return {"url": publisher.webhook_url, "secret": receiver_secret(publisher.webhook_secret)}


@blp.route("/webhook")
class Webhook(MethodView):
    @blp.response(200, WebhookSchema)
    def get(self) -> dict[str, Any]:
        """Where your sign-ups are delivered, and the secret that signs each delivery."""
        if not g.publisher.webhook_url:
            raise NotFound('You have no webhook; PUT one with {"url": ...}.')
        return shown_webhook(g.publisher)

    @blp.arguments(WebhookSchema)
    @blp.response(200, WebhookSchema)
    def put(self, webhook: dict[str, Any]) -> dict[str, Any]:
        """Deliver every new sign-up to this URL, signed with the secret in the answer."""
        return shown_webhook(store.set_webhook(g.publisher, webhook["url"]))

    @blp.response(204)
    def delete(self) -> None:
        """Stop delivering sign-ups; deliveries already queued wait until a URL is set again."""
        store.set_webhook(g.publisher, None)


@blp.route("/comparisons/<slug>/stats")
class Stats(MethodView):
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.arguments(HostPageQuerySchema, location="query")
    @blp.response(200, StatsSchema)
    @blp.paginate(page_size=20, max_page_size=100)
    def get(
        self, chosen: DateRange, page: HostPage | None, slug: str, pagination_parameters: Any
    ) -> dict[str, Any]:
        """A comparison's impressions, views, votes, clicks and sign-ups, per day and page.

        Figures come from daily rollups, refreshed every VSWIDGET_ROLLUP_SECONDS. The
        host pages come a page at a time, busiest first: X-Pagination counts them.
        Sources, devices and browsers: the top TOP_SEGMENTS of each, of every host page
        or of ``host_page``'s.
        """
        comparison = store.get_comparison(g.publisher, slug)
        answer, pages = analytics.report(
            comparison.id,
            chosen.since,
            chosen.until,
            first_item(pagination_parameters),
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = pages
        scope = analytics.Scope.of(comparison.id, chosen, page)
        return answer | analytics.segment_lists(scope, TOP_SEGMENTS)


@blp.route("/comparisons/<slug>/stats/live")
class LiveStats(MethodView):
    @blp.arguments(LiveQuerySchema, location="query")
    @blp.response(200, LiveStatsSchema)
    def get(self, query: dict[str, int], slug: str) -> dict[str, Any]:
        """A comparison's figures over the last minutes, per minute, and the minutes before.

        Counted from the newest events, not the rollups: up to the second.
        """
        comparison = store.get_comparison(g.publisher, slug)
        windows = analytics.windows_of([comparison.id], utcnow(), query["minutes"])
        return analytics.window_report(windows[comparison.id])
