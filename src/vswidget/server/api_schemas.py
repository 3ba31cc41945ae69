"""What the server's HTTP API reads and answers, besides the comparison itself.

The publisher API, the readers' posts and the public reads load and serialize with
these schemas, and the OpenAPI document is generated from them. The comparison is
``vswidget.schemas``, shared with the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from ..fields import HttpUrl, Key, StrictSchema
from ..schemas import ComparisonSchema
from .date_range import DateRangeSchema


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


class StatsQuerySchema(StrictSchema, DateRangeSchema):
    """The date range of figures; by default the last 30 days, today included.

    Loads as a DateRange (StrictSchema's ``drop_empty`` runs first: marshmallow runs the
    hooks of one kind in the order of their names).
    """

    @pre_load
    def leave_paging(self, data: Any, **kwargs: Any) -> Any:
        """``page`` and ``page_size`` (of the host pages) are the pagination's to read."""
        if isinstance(data, Mapping):
            return {key: data[key] for key in data if key not in PAGING}
        return data


class CountsSchema(Schema):
    impressions = fields.Integer(dump_only=True)
    views = fields.Integer(dump_only=True)
    votes = fields.Integer(dump_only=True)
    clicks = fields.Integer(dump_only=True)
    signups = fields.Integer(dump_only=True)
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
