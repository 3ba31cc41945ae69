"""How a figure changed against the previous period of the same length, in words.

One definition for the dashboard and the CLI. A count's change reads as a percent,
except from a small count, where a percent says more than the numbers do ("+200%"
for 1 to 3): below SMALL it reads as the difference. A rate's change reads in
percentage points. From nothing, a count is "new".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Below this many in the previous period, a change reads as a difference, not a percent.
SMALL = 20


@dataclass(frozen=True)
class Change:
    """A count now and in the previous period; or a whole-percent rate (``points``)."""

    now: int | None
    before: int | None
    points: bool = False  # a rate: the change is in percentage points

    @property
    def direction(self) -> str:
        """Return "up", "down", "same", or "none" when either period has no figure."""
        if self.now is None or self.before is None:
            return "none"
        if self.now == self.before:
            return "same"
        return "up" if self.now > self.before else "down"

    @property
    def short(self) -> str:
        """Return the change as a page shows it: "+12%", "−3", "+4 pts", "new", "±0", "—"."""
        if self.now is None or self.before is None:
            return "—"
        difference = self.now - self.before
        if difference == 0:
            return "±0"
        sign = "+" if difference > 0 else "−"
        if self.points:
            return f"{sign}{abs(difference):,} pts"
        if self.before == 0:
            return "new"
        if self.before < SMALL:
            return f"{sign}{abs(difference):,}"
        return f"{sign}{round(100 * abs(difference) / self.before):,}%"

    def words(self, previous: str = "the previous period") -> str:
        """Return the change in a sentence for screen readers: "up 12% from 340 in ..."."""
        if self.now is None or self.before is None:
            return f"no figure to compare with {previous}"
        unit = "%" if self.points else ""
        was = f"{self.before:,}{unit} in {previous}"
        if self.direction == "same":
            return f"the same as {was}"
        if self.short == "new":
            return f"new: none in {previous}"
        amount = self.short.lstrip("+−")
        return f"{self.direction} {amount} from {was}"


def compared(
    totals: Mapping[str, int],
    rates: Mapping[str, int | None],
    previous: Mapping[str, Any],
    names: Sequence[str],
) -> str:
    """Return the lines the CLI prints under a range's totals: each count's change in a
    column 13 wide, then the previous period and the rates' changes (stats' ``previous``)."""
    before = previous["totals"]
    row = "".join(f"{Change(totals[name], before[name]).short:>13}" for name in names)
    points = ", ".join(
        f"{key.replace('_', ' ')} {Change(rate, previous['rates'][key], points=True).short}"
        for key, rate in rates.items()
    )
    return (
        f"{'change':<12}{row}\n"
        f"change: against {previous['since']} to {previous['until']}; conversion {points}"
    )
