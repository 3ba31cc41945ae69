"""What the rollups count: the figures of a day, a range or a host page, and their sums."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from ..tallies import percent

# Event type -> the rollup column that counts it.
COLUMNS = {
    "impression": "impressions",
    "view": "views",
    "vote": "votes",
    "click": "clicks",
    "signup": "signups",
}


@dataclass
class Totals:
    impressions: int = 0
    views: int = 0
    votes: int = 0
    clicks: int = 0
    signups: int = 0
    visitors: int = 0

    def add(self, other: Totals) -> None:
        for spec in fields(self):
            setattr(self, spec.name, getattr(self, spec.name) + getattr(other, spec.name))

    def rates(self) -> dict[str, int | None]:
        """Return whole-percent conversions from views; None without views."""
        return {
            "view_to_vote": percent(self.votes, self.views),
            "view_to_click": percent(self.clicks, self.views),
            "view_to_signup": percent(self.signups, self.views),
        }

    def as_dict(self) -> dict[str, int]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}


COUNTED = [spec.name for spec in fields(Totals)]


def totals_of(counts: Iterable[Any]) -> Totals:
    """Return the Totals of sums in the order of COUNTED (a sum of no rows is NULL)."""
    return Totals(*(int(count or 0) for count in counts))


def summed(days: Iterable[tuple[date, Totals]]) -> Totals:
    """Return the figures of a whole range from the figures of its days."""
    total = Totals()
    for _, counts in days:
        total.add(counts)
    return total
