"""The only definition of a comparison.

The server validates publisher input with these schemas and serializes what it
answers with them, the OpenAPI document is generated from them, and the SDK and
CLI validate offline with them. Fields marked ``dump_only`` are computed by the
server: a document that sets one is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .fields import Host, HttpUrl, Key, StrictSchema, Text

LOCALES = ("en", "de", "fr", "es")
VERDICTS = ("ship", "skip")
CTA_KINDS = ("newsletter", "link")
MIN_ITEMS, MAX_ITEMS = 2, 4
MAX_REVIEWERS = 12


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
