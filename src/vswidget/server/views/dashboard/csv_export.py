"""A comparison's figures as a CSV download, one row per day: for the logged-in
publisher, and for a share link (limited the same way as its page)."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlsplit

from flask import Response, request

from ... import analytics, store
from ...store import Comparison
from .authentication import me
from .inputs import Range
from .report import LABELS, parse_range
from .share_links import read_share


def csv_export(comparison: Comparison, chosen: Range, origin: str | None) -> Response:
    """Return one CSV row per day of the range with every count, as a download."""
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\r\n")
    table.writerow(["day", *LABELS])
    for day, counts in analytics.series(comparison.id, chosen.since, chosen.until, origin):
        table.writerow([day.isoformat(), *(getattr(counts, name) for name in LABELS)])
    host = ""
    if origin:
        host = "-" + re.sub(r"[^a-z0-9.-]+", "-", (urlsplit(origin).netloc or origin).lower())
    name = f"{comparison.slug}{host}-{chosen.since.isoformat()}-{chosen.until.isoformat()}.csv"
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def comparison_csv(slug: str) -> Response:
    """The figures of a comparison's page as CSV, one row per day."""
    return csv_export(store.get_comparison(me(), slug), parse_range(request.args), None)


def shared_csv(token: str) -> Response:
    """A share link's figures as CSV, limited the same way."""
    link = read_share(token)
    return csv_export(link.comparison, parse_range(request.args), link.origin)
