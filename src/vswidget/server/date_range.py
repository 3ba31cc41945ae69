"""The days figures cover: one range type, and one schema that loads it, for the API and
the dashboard alike, with one limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, post_load, validates_schema

from ..fields import Day
from .visitors import today

DEFAULT_DAYS = 30
# A year of a leap year and a month more; the limit the stats API has always documented.
MAX_DAYS = 400


@dataclass(frozen=True)
class DateRange:
    """The UTC days from ``since`` to ``until``, both included."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def default_range(
    since: date | None, until: date | None, days: int = DEFAULT_DAYS
) -> tuple[date, date]:
    """Return the range asked for; by default the ``days`` days that end today (UTC)."""
    until = until or today()
    return since or until - timedelta(days=days - 1), until


class DateRangeSchema(Schema):
    """``since`` and ``until``, each optional; loads as a DateRange of at most MAX_DAYS days.

    ``until`` defaults to today, ``since`` to the start of the DEFAULT_DAYS that end on ``until``.
    """

    since = Day("First day, YYYY-MM-DD (UTC).")
    until = Day("Last day, YYYY-MM-DD (UTC); default today.")

    def asked(self, data: dict[str, Any]) -> DateRange:
        """Return the range loaded ``data`` asks for, its defaults filled in."""
        return DateRange(*default_range(data.get("since"), data.get("until")))

    @validates_schema
    def within_limits(self, data: dict[str, Any], **kwargs: Any) -> None:
        chosen = self.asked(data)
        if chosen.since > chosen.until:
            raise ValidationError(f"Must not be after the range's end, {chosen.until}.", "since")
        if chosen.days > MAX_DAYS:
            raise ValidationError(f"A range is at most {MAX_DAYS} days.", "since")

    @post_load
    def to_range(self, data: dict[str, Any], **kwargs: Any) -> DateRange:
        return self.asked(data)
