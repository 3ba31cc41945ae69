"""What the server's HTTP API reads and answers, besides the comparison itself.

The publisher API, the readers' posts and the public reads load and serialize with
these schemas, and the OpenAPI document is generated from them. The comparison is
``vswidget.schemas``, shared with the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate

from ..fields import HttpUrl, Key, StrictSchema
from ..schemas import ComparisonSchema
from .date_range import DateRangeSchema
from .page_urls import HostPage, host_page


class PublisherSchema(StrictSchema):
    """A publisher, named by the handle that appears in its canonical URLs."""

    handle = Key(2, 40)


class ErrorDetailSchema(Schema):
    status = fields.Integer(dump_only=True)
    message = fields.String(dump_only=True)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        dump_only=True,
        metadata={"description": "Messages keyed by field path, e.g. items.2.url."},
    )


class ErrorSchema(Schema):
    """The body of every 4xx and 5xx answer."""

    error = fields.Nested(ErrorDetailSchema, dump_only=True)


class Email(fields.String):
    """An email address, checked for form (no network look-up) and normalized."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        from email_validator import EmailNotValidError, validate_email

        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ValidationError(f"Enter a valid email address ({error}).") from error


class VoteSchema(StrictSchema):
    """A reader's vote, as the widget sends it."""

    ticket = fields.String(required=True, validate=validate.Length(max=500))
    item = fields.String(required=True, validate=validate.Length(max=40))
    receipt = fields.String(allow_none=True, validate=validate.Length(max=500))


class VoteResultSchema(Schema):
    choice = fields.String(dump_only=True)
    receipt = fields.String(dump_only=True)
    votes = fields.Integer(dump_only=True)
    items = fields.Dict(keys=fields.String(), values=fields.Dict(), dump_only=True)


class SignupSchema(StrictSchema):
    """A newsletter sign-up, as the widget sends it; ``website`` is a honeypot."""

    ticket = fields.String(required=True, validate=validate.Length(max=500))
    email = Email(required=True, validate=validate.Length(max=320))
    consent = fields.Boolean(
        required=True,
        truthy={True},
        falsy={False},
        validate=validate.Equal(True, error="Consent is needed to sign up."),
    )
    website = fields.String(allow_none=True, validate=validate.Length(max=500))


EVENT_TYPES = ("impression", "view", "vote", "click", "signup")


class EventSchema(StrictSchema):
    type = fields.String(
        required=True,
        validate=validate.OneOf(EVENT_TYPES, error=f"Must be one of: {', '.join(EVENT_TYPES)}."),
    )
    token = fields.String(required=True, validate=validate.Length(max=200))
    item = fields.String(allow_none=True, validate=validate.Length(max=40))


class EventBatchSchema(StrictSchema):
    """Widget events, batched and sent with sendBeacon."""

    page = fields.String(required=True, validate=validate.Length(max=2000))
    referrer = fields.String(allow_none=True, validate=validate.Length(max=2000))
    events = fields.List(
        fields.Nested(EventSchema),
        required=True,
        validate=validate.Length(min=1, max=50, error="Send 1 to 50 events at once."),
    )


class SignupOutSchema(Schema):
    """A sign-up, as the publisher reads it."""

    email = fields.String(dump_only=True)
    comparison = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class ForgottenSchema(Schema):
    deleted = fields.Integer(dump_only=True, metadata={"description": "Sign-ups deleted."})


class WebhookSchema(StrictSchema):
    """Where sign-ups are delivered; ``secret`` (``whsec_...``, Standard Webhooks) signs
    each delivery."""

    url = HttpUrl(required=True)
    secret = fields.String(dump_only=True)


PAGING = ("page", "page_size")
HOST_PAGE = "host_page"  # read by HostPageQuerySchema


class StatsQuerySchema(StrictSchema, DateRangeSchema):
    """The date range of figures; by default the last 30 days, today included.

    Loads as a DateRange (StrictSchema's ``drop_empty`` runs first: marshmallow runs the
    hooks of one kind in the order of their names).
    """

    @pre_load
    def leave_paging(self, data: Any, **kwargs: Any) -> Any:
        """``page`` and ``page_size`` (of the host pages) are the pagination's to read,
        ``host_page`` HostPageQuerySchema's."""
        if isinstance(data, Mapping):
            return {key: data[key] for key in data if key not in (*PAGING, HOST_PAGE)}
        return data


class EventCountsSchema(Schema):
    """How many events of each type."""

    impressions = fields.Integer(dump_only=True)
    views = fields.Integer(dump_only=True)
    votes = fields.Integer(dump_only=True)
    clicks = fields.Integer(dump_only=True)
    signups = fields.Integer(dump_only=True)


class HostPageQuerySchema(Schema):
    """``host_page``: the URL of one host page whose sources, devices and browsers to
    read (its query and fragment do not count). Loads as a HostPage, or None."""

    class Meta:
        unknown = EXCLUDE  # the rest of the query is StatsQuerySchema's and the pagination's

    host_page = HttpUrl()

    @pre_load
    def empty_is_every_page(self, data: Any, **kwargs: Any) -> Any:
        """An empty ``host_page`` (a form's first choice) asks for every page."""
        if isinstance(data, Mapping) and data.get(HOST_PAGE) == "":
            return {key: data[key] for key in data if key != HOST_PAGE}
        return data

    @post_load
    def to_page(self, data: dict[str, Any], **kwargs: Any) -> HostPage | None:
        if data.get(HOST_PAGE) is None:
            return None
        page = host_page(data[HOST_PAGE])
        if page is None:
            raise ValidationError("Must be an http:// or https:// URL.", HOST_PAGE)
        return page


class SegmentSchema(EventCountsSchema):
    """One source, device class or browser family, with its figures over the range."""

    value = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": 'The referrer\'s domain ("": none), device class or browser '
            "family; null: the values past the top ones, summed."
        },
    )
    share = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Whole percent of this kind's views; null without views."},
    )


def segment_list(description: str) -> fields.List[Any]:
    """A list of one kind's top values, busiest first, and the others summed."""
    return fields.List(
        fields.Nested(SegmentSchema),
        dump_only=True,
        metadata={"description": f"{description}: the top ones by views, then the others."},
    )


class CountsSchema(EventCountsSchema):
    visitors = fields.Integer(
        dump_only=True, metadata={"description": "Distinct readers per day, summed over days."}
    )


class DayCountsSchema(CountsSchema):
    day = fields.Date(dump_only=True)


class PageCountsSchema(CountsSchema):
    origin = fields.String(dump_only=True)
    path = fields.String(dump_only=True)
    first_seen = fields.Date(dump_only=True)
    last_seen = fields.Date(dump_only=True)


class DroppedSchema(Schema):
    """Events dropped over a range, by reason, and never stored."""

    over_budget = fields.Integer(
        dump_only=True,
        metadata={"description": "Over an address's or the comparison's daily budget."},
    )
    other_host = fields.Integer(
        dump_only=True, metadata={"description": "From a site the comparison's hosts leave out."}
    )


class FiguresSchema(Schema):
    """The totals and rates of a period."""

    totals = fields.Nested(CountsSchema, dump_only=True)
    rates = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(allow_none=True),
        dump_only=True,
        metadata={"description": "Whole percent of views that led to a vote, click, sign-up."},
    )


class PreviousSchema(FiguresSchema):
    """The days just before the range, as many as it has: their totals and rates."""

    since = fields.Date(dump_only=True)
    until = fields.Date(dump_only=True)


class StatsSchema(PreviousSchema):
    """A comparison's figures over a range of days, from the daily rollups."""

    previous = fields.Nested(PreviousSchema, dump_only=True)
    days = fields.List(fields.Nested(DayCountsSchema), dump_only=True)
    pages = fields.List(
        fields.Nested(PageCountsSchema),
        dump_only=True,
        metadata={"description": "One page of the host pages, busiest first (X-Pagination)."},
    )
    other_pages = fields.Nested(
        CountsSchema,
        dump_only=True,
        metadata={"description": "The events of host pages past a day's cap, together."},
    )
    dropped = fields.Nested(DroppedSchema, dump_only=True)
    items = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        dump_only=True,
        metadata={"description": "Per item key: votes cast and clicks in the range."},
    )
    sources = segment_list('Referrers\' domains, "" for none')
    devices = segment_list("Device classes: phone, tablet, desktop, other")
    browsers = segment_list(
        "Browser families: chrome, safari, firefox, edge, samsung, opera, other"
    )


# -- what the public API answers: documented in the OpenAPI document (openapi.py) --


class PayloadSchema(ComparisonSchema):
    """What a widget renders: the comparison, its computed fields and how to act on it."""

    token = fields.String(dump_only=True, metadata={"description": "The embed token."})
    url = fields.String(dump_only=True, metadata={"description": "The canonical page."})
    sig = fields.String(dump_only=True, metadata={"description": "Signature of this version."})
    ticket = fields.String(
        dump_only=True, metadata={"description": "Signed vote ticket; send it with a vote."}
    )
    labels = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        dump_only=True,
        metadata={"description": "The widget's words in the chosen language."},
    )


class PayloadBatchSchema(Schema):
    """Every widget of a page in one answer; a bad token is named under ``errors``."""

    payloads = fields.Dict(
        keys=fields.String(), values=fields.Nested(PayloadSchema), dump_only=True
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        dump_only=True,
        metadata={"description": "Why each token that was asked for has no payload."},
    )


class OEmbedSchema(Schema):
    """An oEmbed 1.0 answer of type rich: one iframe."""

    version = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    provider_name = fields.String(dump_only=True)
    provider_url = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    html = fields.String(dump_only=True)
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)
    cache_age = fields.Integer(dump_only=True)


class SignupResultSchema(Schema):
    ok = fields.Boolean(dump_only=True)


class SummarySchema(Schema):
    """One comparison in a list."""

    slug = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    votes = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    url = fields.String(dump_only=True)
