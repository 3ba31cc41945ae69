"""What every dashboard answer gets: private headers, readable error pages, the
templates' filters and helpers."""

from __future__ import annotations

from typing import Any

from flask import Response, g, render_template, request
from flask.typing import ResponseReturnValue

from ....errors import NotFound, VSWidgetError
from ....fields import DAY_PATTERN
from ...headers import page_csp
from .authentication import OPEN_ENDPOINTS, csrf_token
from .report import LABELS


def private(response: Response) -> Response:
    """Keep every dashboard answer out of caches, frames, search engines and Referer."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = page_csp("'none'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


ERROR_TITLES = {
    400: "That request could not be used",
    403: "This link does not work",
    404: "Not found",
    410: "This link has expired",
    429: "Too many attempts",
}


def error_page(error: VSWidgetError) -> ResponseReturnValue:
    """Answer errors as a readable page, not the API's JSON."""
    title = ERROR_TITLES.get(error.status, "Something went wrong")
    html = render_template(
        "dashboard/error.html",
        title=title,
        message=error.message,
        publisher=g.get("publisher"),
        home=request.endpoint not in OPEN_ENDPOINTS,
    )
    return html, error.status, error.headers


def whole_number(value: int) -> str:
    """Format a count with thousands separators."""
    return f"{value:,}"


def percent_or_dash(value: int | None) -> str:
    """Format a whole percent, or "—" when there is nothing to divide by."""
    return "—" if value is None else f"{value}%"


def helpers() -> dict[str, Any]:
    """What every dashboard template may use."""
    return {"csrf_token": csrf_token, "labels": LABELS, "day_pattern": DAY_PATTERN}


def missing(path: str) -> ResponseReturnValue:
    """Any other dashboard address: a readable 404 page."""
    raise NotFound("There is no dashboard page at this address.")
