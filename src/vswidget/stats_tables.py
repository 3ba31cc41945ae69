"""How ``vswidget stats`` prints lists of rows, as a table or as CSV: host pages, and
the top sources, devices and browsers."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from typing import Any

import click

from .client import SEGMENT_KINDS, Segment, Stats

COUNTS = ("impressions", "views", "votes", "clicks", "signups", "visitors")
SEGMENT_COUNTS = COUNTS[:-1]  # a segment's readers are not counted apart
OTHERS = "(others)"  # the values past the top ones: no domain, class or family has brackets
DIRECT = "(direct)"  # a source of "": no referrer, or one the browser did not send


def print_pages(pages: Iterable[dict[str, Any]], as_csv: bool) -> None:
    """Print host pages as a table or as CSV, one row each."""
    columns = ["origin", "path", "first_seen", "last_seen", *COUNTS]
    if as_csv:
        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(columns)
        for row in pages:
            table.writerow([row[name] for name in columns])
        return
    click.echo(f"{'host page':<50}" + "".join(f"{name:>13}" for name in COUNTS))
    for row in pages:
        where = f"{row['origin']}{row['path']}"
        click.echo(f"{where:<50}" + "".join(f"{row[name]:>13,}" for name in COUNTS))


def print_segments(found: Stats, as_csv: bool) -> None:
    """Print the top sources, devices and browsers: a table each, or one CSV of them all
    (``share``: whole percent of the kind's views)."""
    if as_csv:
        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(["kind", "value", *SEGMENT_COUNTS, "share"])
        for kind in SEGMENT_KINDS:
            for row in getattr(found, kind):
                value = OTHERS if row.value is None else row.value
                counts = (getattr(row, name) for name in SEGMENT_COUNTS)
                table.writerow([kind, value, *counts, "" if row.share is None else row.share])
        return
    for kind in SEGMENT_KINDS:
        click.echo(f"{kind:<40}" + "".join(f"{name:>13}" for name in SEGMENT_COUNTS) + "  % views")
        for row in getattr(found, kind):
            figures = "".join(f"{getattr(row, name):>13,}" for name in SEGMENT_COUNTS)
            click.echo(f"{_label(row):<40}{figures}{_percent(row.share):>9}")
        if not getattr(found, kind):
            click.echo("(none in the range)")


def _label(row: Segment) -> str:
    if row.value is None:
        return OTHERS
    return row.value or DIRECT


def _percent(share: int | None) -> str:
    return "—" if share is None else f"{share}%"
