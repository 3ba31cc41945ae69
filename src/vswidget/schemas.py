"""The only definition of a comparison.

The server validates publisher input with these schemas and serializes what it
answers with them, the OpenAPI document is generated from them, and the SDK and
CLI validate offline with them. Fields marked ``dump_only`` are computed by the
server: a document that sets one is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from difflib import get_close_matches
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from .errors import UNKNOWN_FIELD

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
LOCALES = ("en", "de", "fr", "es")
VERDICTS = ("ship", "skip")
CTA_KINDS = ("newsletter", "link")
MIN_ITEMS, MAX_ITEMS = 2, 4
MAX_REVIEWERS = 12
COMPUTED = "Computed by the server; leave it out."


class Text(fields.String):
    """Text stripped of surrounding white space and limited in length.

    An optional text left empty counts as absent; a required one must not be empty.
    """

    def __init__(self, max_length: int, *, required: bool = False) -> None:
        self.max_length = max_length
        super().__init__(
            required=required,
            allow_none=not required,
            # required: some character other than white space, as _deserialize checks
            metadata={"maxLength": max_length, **({"pattern": r"\S"} if required else {})},
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(text) > self.max_length:
            raise ValidationError(f"Must be at most {self.max_length} characters.")
        if text:
            return text
        if self.required:
            raise ValidationError("Must not be empty.")
        return None


class HttpUrl(fields.Url):
    """An absolute http:// or https:// URL; ``javascript:`` and ``data:`` are refused."""

    def __init__(self, *, required: bool = False) -> None:
        super().__init__(
            required=required,
            allow_none=not required,
            schemes={"http", "https"},
            require_tld=False,
            validate=validate.Length(max=2000, error="Must be at most 2000 characters."),
            error_messages={"invalid": "Must be an http:// or https:// URL."},
            metadata={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"},
        )


class Key(fields.String):
    """A slug-like identifier: lowercase letters, digits and inner hyphens."""

    def __init__(self, min_length: int, max_length: int) -> None:
        super().__init__(
            required=True,
            validate=[
                validate.Length(
                    min=min_length,
                    max=max_length,
                    error=f"Must be {min_length} to {max_length} characters.",
                ),
                validate.Regexp(
                    SLUG_PATTERN,
                    error="Use lowercase letters, digits and inner hyphens only (a-z, 0-9, -).",
                ),
            ],
        )


HOST_PATTERN = r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"


class Host(fields.String):
    """A host name, or ``*.`` and a domain for every host under it; lowercase."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if len(text) > 253 or not re.match(HOST_PATTERN, text):
            raise ValidationError("Must be a host name such as blog.example.com or *.example.com.")
        return text


class StrictSchema(Schema):
    """Refuses unknown fields and computed fields; drops optional fields left empty."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": "Must be an object with named fields."}

    @pre_load
    def refuse_computed(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            computed = [n for n, f in self.fields.items() if f.dump_only and n in data]
            if computed:
                raise ValidationError({name: [COMPUTED] for name in computed})
        return data

    @post_load
    def drop_empty(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {key: value for key, value in data.items() if value is not None}

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        """Name the causes: the field an unknown name was meant to be, the type found."""
        if not many:
            error.messages = _named_causes(self, error.messages, data)


def _named_causes(schema: Schema, messages: Any, data: Any) -> Any:
    """Return a schema's error messages with unknown fields and wrong types explained."""
    if not isinstance(data, Mapping):
        return {"_schema": [_wrong_type("an object", data)]}
    if not isinstance(messages, dict):
        return messages
    loaded = {spec.data_key or name: spec for name, spec in schema.load_fields.items()}
    unknown = [schema.error_messages["unknown"]]
    named: dict[Any, Any] = {}
    for key, errors in messages.items():
        if errors == unknown:
            named[key] = [_unknown_field(key, schema)]
        elif key in loaded and key in data:
            named[key] = _typed(loaded[key], errors, data[key])
        else:
            named[key] = errors
    return named


def _unknown_field(key: Any, schema: Schema) -> str:
    known = [spec.data_key or name for name, spec in schema.load_fields.items()]
    closest = get_close_matches(str(key), known, n=1)
    return f'{UNKNOWN_FIELD}; did you mean "{closest[0]}"?' if closest else UNKNOWN_FIELD


EXPECTED_KINDS: tuple[tuple[type[fields.Field[Any]], str], ...] = (
    (fields.Boolean, "a boolean"),
    (fields.String, "a string"),
    (fields.Number, "a number"),
    (fields.List, "a list"),
    (fields.Nested, "an object"),
    (fields.Dict, "an object"),
)


def _typed(field: fields.Field[Any], errors: Any, value: Any) -> Any:
    """Return a field's errors, or one saying the type expected and found when they differ."""
    expected = next((kind for cls, kind in EXPECTED_KINDS if isinstance(field, cls)), None)
    if expected is None:
        return errors
    if _kind(value) != expected:
        return [_wrong_type(expected, value)]
    if isinstance(field, fields.List) and isinstance(errors, dict):
        return {i: _typed(field.inner, e, value[i]) for i, e in errors.items() if i < len(value)}
    return errors


def _wrong_type(expected: str, value: Any) -> str:
    return f"expected {expected}, found {_shown(value)}"


def _kind(value: Any) -> str:
    """Return the JSON (or YAML) kind of a value: "a string", "a number", "null"..."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        (date, "a date"),
        (Mapping, "an object"),
        ((list, tuple), "a list"),
    )
    if value is None:
        return "null"
    return next((kind for cls, kind in kinds if isinstance(value, cls)), type(value).__name__)


def _shown(value: Any) -> str:
    """Return a value's kind, with the value itself when it is short: 'a number (9)'."""
    kind = _kind(value)
    if isinstance(value, date):
        return f"{kind} ({value.isoformat()})"
    if isinstance(value, bool | int | float | str):
        text = value if not isinstance(value, str) or len(value) <= 40 else value[:39] + "…"
        return f"{kind} ({json.dumps(text, ensure_ascii=False)})"
    return kind


class ItemSchema(StrictSchema):
    key = Key(1, 40)
    name = Text(80, required=True)
    category = Text(60)
    tagline = Text(200)
    description = Text(2000)
    price = Text(40)
    url = HttpUrl()
    logo = HttpUrl()
    sponsored = fields.Boolean(
        load_default=False,
        truthy={True},
        falsy={False},
        metadata={"description": "Mark the item's link rel=sponsored."},
    )
    panel_ship = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Whole percent of reviewers who said ship; null with no panel."},
    )
    votes = fields.Integer(dump_only=True, metadata={"description": "Reader votes for the item."})
    community = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Whole percent of reader votes; null while there are none."},
    )


class VerdictSchema(StrictSchema):
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(VERDICTS, error="Must be 'ship' or 'skip'."),
    )
    quote = Text(2000)


class Verdicts(fields.Dict):
    """The verdicts of one reviewer, keyed by item key."""

    def __init__(self) -> None:
        super().__init__(keys=fields.String(), values=fields.Nested(VerdictSchema), required=True)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]
        except ValidationError as error:
            # marshmallow nests errors under "key"/"value"; name the item key alone.
            messages = error.messages
            if isinstance(messages, dict):
                messages = {
                    k: v.get("value", v.get("key", v)) if isinstance(v, dict) else v
                    for k, v in messages.items()
                }
            raise ValidationError(messages) from error


class ReviewerSchema(StrictSchema):
    name = Text(80, required=True)
    lens = Text(120)
    verdicts = Verdicts()
    dissents = fields.List(
        fields.String(),
        dump_only=True,
        metadata={"description": "Item keys on which this reviewer is against the panel majority."},
    )


class CtaSchema(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(CTA_KINDS, error="Must be 'newsletter' or 'link'."),
    )
    headline = Text(120, required=True)
    text = Text(300)
    label = Text(40)
    url = HttpUrl()

    @validates_schema
    def url_fits_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["kind"] == "link" and not data.get("url"):
            raise ValidationError("A link call to action needs a url.", "url")
        if data["kind"] == "newsletter" and data.get("url"):
            raise ValidationError("A newsletter call to action has no url.", "url")


class EmbedSchema(Schema):
    """How to embed a comparison: the fields of the SDK's ``Published``."""

    slug = fields.String(dump_only=True)
    token = fields.String(dump_only=True)
    snippet = fields.String(dump_only=True)
    iframe_url = fields.String(dump_only=True)
    url = fields.String(dump_only=True)
    height = fields.Integer(
        dump_only=True,
        metadata={
            "description": "The widget's height in pixels in a 640 px column; the snippet "
            "reserves a height for each column width."
        },
    )


class ComparisonSchema(StrictSchema):
    slug = Key(3, 80)
    kicker = Text(80)
    title = Text(160, required=True)
    question = Text(200)
    locale = fields.String(
        load_default="en",
        validate=validate.OneOf(LOCALES, error=f"Must be one of: {', '.join(LOCALES)}."),
    )
    items = fields.List(
        fields.Nested(ItemSchema),
        required=True,
        validate=validate.Length(
            min=MIN_ITEMS, max=MAX_ITEMS, error=f"Must have {MIN_ITEMS} to {MAX_ITEMS} items."
        ),
    )
    panel = fields.List(
        fields.Nested(ReviewerSchema),
        load_default=list,
        validate=validate.Length(
            max=MAX_REVIEWERS, error=f"Must have at most {MAX_REVIEWERS} reviewers."
        ),
    )
    cta = fields.Nested(CtaSchema, allow_none=True)
    hosts = fields.List(
        Host(),
        allow_none=True,
        validate=validate.Length(max=50, error="Must list at most 50 hosts."),
        metadata={
            "description": "Host sites whose analytics events are accepted; absent: any site."
        },
    )
    votes = fields.Integer(dump_only=True, metadata={"description": "Reader votes in all."})
    contested = fields.List(
        fields.String(),
        dump_only=True,
        metadata={"description": "Item keys on which the panel is split."},
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    embed = fields.Nested(EmbedSchema, dump_only=True)

    @validates_schema
    def verdicts_match_items(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        keys: list[str] = [item["key"] for item in data["items"]]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                errors.setdefault("items", {})[index] = {"key": [f"Duplicate item key '{key}'."]}
        for index, reviewer in enumerate(data.get("panel", [])):
            given = reviewer["verdicts"]
            problems: dict[str, list[str]] = {
                key: [f"No item has the key '{key}'."] for key in given if key not in keys
            }
            missing = [key for key in keys if key not in given]
            if missing:
                problems["_schema"] = [f"Missing the verdict on {', '.join(map(repr, missing))}."]
            if problems:
                errors.setdefault("panel", {})[index] = {"verdicts": problems}
        if errors:
            raise ValidationError(errors)


class SummarySchema(Schema):
    """One comparison in a list."""

    slug = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    votes = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    url = fields.String(dump_only=True)


def load_comparison(data: Any) -> dict[str, Any]:
    """Validate a comparison document and return it normalized.

    Raises ``marshmallow.ValidationError`` with messages nested by field.
    """
    result: dict[str, Any] = ComparisonSchema().load(data)
    return result


def document_of(served: Mapping[str, Any]) -> dict[str, Any]:
    """Return the publisher's document inside a served comparison, computed fields left out."""
    return _strip(ComparisonSchema(), served)


def _strip(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, value in data.items():
        field = schema.fields.get(name)
        if field is None or field.dump_only:
            continue
        if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            inner: Schema = field.inner.schema
            document[name] = [_strip(inner, entry) for entry in value]
        elif isinstance(field, fields.Nested) and value is not None:
            document[name] = _strip(field.schema, value)
        elif isinstance(field, Verdicts):
            document[name] = {key: dict(entry) for key, entry in value.items()}
        else:
            document[name] = value
    return document


def canonical_json(document: Mapping[str, Any]) -> str:
    """Return the one stored text of a normalized document."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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


MAX_STATS_DAYS = 400
PAGING = ("page", "page_size")
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9999, 12, 1)
# The one way a day is written, in and out: the API, the dashboard and the CLI (also the
# dashboard's HTML ``pattern``, which is anchored). ISO 8601's other forms are refused.
DAY_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
NOT_A_DAY = "Not a day written YYYY-MM-DD, e.g. 2026-12-06."


def parse_day(text: str) -> date:
    """Return the day ``text`` writes as YYYY-MM-DD; ValueError (NOT_A_DAY) for anything
    else, 20261206 and 2026-W49-7 included."""
    try:
        if re.fullmatch(DAY_PATTERN, text):
            return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        pass
    raise ValueError(NOT_A_DAY)


class Day(fields.Date):
    """A day, YYYY-MM-DD, far enough from the calendar's ends to count days around it."""

    def __init__(self, description: str) -> None:
        super().__init__(
            validate=validate.Range(
                min=FIRST_DAY, max=LAST_DAY, error=f"Must be from {FIRST_DAY} to {LAST_DAY}."
            ),
            metadata={"description": description, "pattern": f"^{DAY_PATTERN}$"},
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        try:
            return parse_day(value)
        except (TypeError, ValueError):  # TypeError: not a string
            raise ValidationError(NOT_A_DAY) from None


class StatsQuerySchema(StrictSchema):
    """The date range of figures; by default the last 30 days, today included."""

    since = Day("First day, YYYY-MM-DD (UTC).")
    until = Day("Last day, YYYY-MM-DD (UTC); default today.")

    @pre_load
    def leave_paging(self, data: Any, **kwargs: Any) -> Any:
        """``page`` and ``page_size`` (of the host pages) are the pagination's to read."""
        if isinstance(data, Mapping):
            return {key: data[key] for key in data if key not in PAGING}
        return data

    @validates_schema
    def ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The range as it will be read: until defaults to today (UTC).
        since, until = data.get("since"), data.get("until") or datetime.now(UTC).date()
        if since and since > until:
            raise ValidationError("Must not be after until (default: today).", "since")
        if since and (until - since).days >= MAX_STATS_DAYS:
            raise ValidationError(f"A range is at most {MAX_STATS_DAYS} days.", "since")


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


class StatsSchema(Schema):
    """A comparison's figures over a range of days, from the daily rollups."""

    since = fields.Date(dump_only=True)
    until = fields.Date(dump_only=True)
    totals = fields.Nested(CountsSchema, dump_only=True)
    rates = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(allow_none=True),
        dump_only=True,
        metadata={"description": "Whole percent of views that led to a vote, click, sign-up."},
    )
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
