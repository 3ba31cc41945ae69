"""The fields and the base schema every vswidget schema is made of.

The fields normalize as they load (text stripped, hosts lowercased, a day written
one way only); ``StrictSchema`` refuses unknown and computed fields and names the
cause of each refusal: the field an unknown name was meant to be, the type found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from difflib import get_close_matches
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate

from .errors import UNKNOWN_FIELD

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
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
