"""What the dashboard's pages and forms accept: marshmallow schemas, with the API's fields.

Each query and form is loaded through a schema, as the API's are (a range of days loads
with the API's ``DateRangeSchema``, a handle is ``PublisherSchema``'s); what a schema
refuses answers a 400 page naming the field, before anything is read or stored.
Parameters no schema names are ignored, not refused: links pasted into chats and mail
gain tracking parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ....errors import BadRequest, validation_error
from ....fields import Text
from ...api_schemas import PublisherSchema
from ...date_range import DEFAULT_DAYS as DEFAULT_DAYS  # the dashboard's default too
from ...date_range import DateRange, DateRangeSchema, default_range
from ...visitors import today

PRESETS = (7, 30, 90)
LIVE_MINUTES = 30  # the one range of minutes, read from the newest raw events
SHARE_DAYS = (1, 7, 30, 90)
MAX_PASSWORD_LENGTH = 1024
PER_PAGE = 50
# No publisher has this many comparisons; every database can count rows this far.
MAX_PAGE = 2**62 // PER_PAGE
TOO_LONG = "Must be at most {max} characters."


def load(schema: Schema, values: Mapping[str, Any]) -> Any:
    """Return ``values`` loaded by ``schema``; BadRequest naming each field it refuses."""
    try:
        return schema.load(values)
    except ValidationError as error:
        refused = validation_error(error.messages, "request")
        raise BadRequest(refused.message, refused.fields) from None


class DashboardSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class OverviewQuery(DashboardSchema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error=f"Must be from 1 to {MAX_PAGE:,}."),
    )


@dataclass(frozen=True)
class Range(DateRange):
    """The days a page shows, and the preset they came from (None: custom); or, with
    ``minutes``, the last minutes up to now (its days: today)."""

    preset: int | None = None
    minutes: int | None = None

    def query(self) -> dict[str, Any]:
        """Return the query arguments that ask for this range again."""
        if self.minutes is not None:
            return {"minutes": str(self.minutes)}
        if self.preset is not None:
            return {"days": str(self.preset)}
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


class RangeQuery(DashboardSchema, DateRangeSchema):
    """A preset, ``days``, or a custom range: ``since`` alone runs to today, ``until``
    alone shows the DEFAULT_DAYS that end then; or ``minutes=30``, the last 30 minutes.
    Loads as a Range."""

    days = fields.Integer(validate=validate.OneOf(PRESETS, error="Must be one of 7, 30, 90."))
    minutes = fields.Integer(
        validate=validate.OneOf((LIVE_MINUTES,), error=f"Must be {LIVE_MINUTES}.")
    )

    @validates_schema
    def minutes_or_days(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "minutes" in data and {"since", "until", "days"} & data.keys():
            raise ValidationError("Ask for minutes or for days, not both.", "minutes")

    def asked(self, data: dict[str, Any]) -> Range:
        if "minutes" in data:
            return Range(today(), today(), minutes=data["minutes"])
        if "since" in data or "until" in data:
            custom = super().asked(data)
            return Range(custom.since, custom.until)
        days = data.get("days", DEFAULT_DAYS)
        return Range(*default_range(None, None, days), preset=days)


class LoginForm(DashboardSchema):
    handle = PublisherSchema().fields["handle"]
    password = fields.String(
        required=True,
        validate=validate.Length(
            max=MAX_PASSWORD_LENGTH, error="Must be at most {max} characters."
        ),
    )
    next = fields.String(load_default=None)


class ShareForm(DashboardSchema):
    days = fields.Integer(
        required=True, validate=validate.OneOf(SHARE_DAYS, error="Must be one of 1, 7, 30, 90.")
    )
    origin = Text(255)
