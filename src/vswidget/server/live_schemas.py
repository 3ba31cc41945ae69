"""What the stats API's last minutes read and answer (``GET .../stats/live``)."""

from __future__ import annotations

from marshmallow import fields, validate

from ..fields import StrictSchema
from .api_schemas import CountsSchema, FiguresSchema

MAX_MINUTES = 60


class LiveQuerySchema(StrictSchema):
    """How many minutes, up to now."""

    minutes = fields.Integer(
        load_default=30,
        validate=validate.Range(1, MAX_MINUTES, error=f"Must be from 1 to {MAX_MINUTES}."),
        metadata={"description": f"Minutes up to now, 1 to {MAX_MINUTES}; default 30."},
    )


class MinuteCountsSchema(CountsSchema):
    start = fields.DateTime(dump_only=True, metadata={"description": "The minute's start."})


class MinutesSchema(FiguresSchema):
    """The totals and rates of the minutes from ``since``, excluded, to ``until``."""

    since = fields.DateTime(dump_only=True)
    until = fields.DateTime(dump_only=True)


class LiveStatsSchema(MinutesSchema):
    """A comparison's figures over the last minutes, counted from the newest events, and
    over the same number of minutes before (``previous``)."""

    minutes = fields.List(fields.Nested(MinuteCountsSchema), dump_only=True)
    previous = fields.Nested(MinutesSchema, dump_only=True)
