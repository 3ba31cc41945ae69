"""Site owners' pages: login, an overview, a comparison's figures, signed share links.

Server-rendered and usable without JavaScript. Every figure comes from the daily
rollups in ``analytics.py``, never from raw events. A publisher logs in with the
password set by ``vswidget publisher password``; the session is Flask's signed
cookie naming a session kept on the server (``sessions.py``), failed logins are
counted in the database (``login_limits.py``), every query and form is loaded by a
schema (``dashboard_inputs.py``), every form carries a CSRF token bound to the
session, and every answer is ``private, no-store``. A share link needs no session:
it is signed, expires, shows one comparison read-only and may be limited to one
host site.
"""

from __future__ import annotations

import csv
import hmac
import io
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from ...errors import BadRequest, NotFound, VSWidgetError
from ...schemas import DAY_PATTERN
from .. import analytics, charts, login_limits, payloads, sessions, signing, store
from ..embed import public_base
from ..headers import page_csp
from ..networks import reader_address
from ..store import Comparison, Publisher
from ..tallies import percent
from ..visitors import today
from .dashboard_inputs import (
    DEFAULT_DAYS,
    PER_PAGE,
    PRESETS,
    SHARE_DAYS,
    LoginForm,
    OverviewQuery,
    Range,
    RangeQuery,
    ShareForm,
    load,
)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

HOST_PAGES_SHOWN = 100  # embed locations a page of the list shows
PAGE_NUMBER = re.compile(r"[0-9]{1,9}")

# A gap this large, in percentage points, between the panel's ship share and the
# community's share of votes flags an item.
DISAGREEMENT_POINTS = 20
SESSION_DAYS = 14

LABELS = {
    "impressions": "Impressions",
    "views": "Views",
    "votes": "Votes",
    "clicks": "Clicks",
    "signups": "Sign-ups",
    "visitors": "Visitors",
}
REACH = ("impressions", "views")
ACTIONS = ("votes", "clicks", "signups")
# One colour per figure, the same in every chart (static/dashboard.css).
COLOURS = {LABELS[name]: f"vsw-s{n}" for n, name in enumerate((*REACH, *ACTIONS), start=1)}
RATES = {
    "view_to_vote": ("View → vote", "votes"),
    "view_to_click": ("View → click", "clicks"),
    "view_to_signup": ("View → sign-up", "signups"),
}
OPEN_ENDPOINTS = {"dashboard.login", "dashboard.shared", "dashboard.shared_csv"}


class CsrfRefused(BadRequest):
    default_message = (
        "This form is out of date or did not come from your dashboard, so nothing was "
        "changed. Go back, reload the page and try again."
    )


class LinkRefused(VSWidgetError):
    status = 403
    default_message = (
        "This share link is not valid: it was changed, cut short, or signed with a key "
        "this server no longer knows. Ask the site owner for a new one."
    )


class LinkExpired(VSWidgetError):
    status = 410
    default_message = "This share link has expired. Ask the site owner for a new one."


# -- setup and every response --------------------------------------------------


@bp.record_once
def configure_sessions(state: BlueprintSetupState) -> None:
    """Sign the session cookie with the key list and keep it to the dashboard."""
    config = state.app.config
    keys: list[str] = config["SECRET_KEYS"]
    state.app.secret_key = keys[-1]
    config.update(
        SECRET_KEY_FALLBACKS=keys[:-1],
        SESSION_COOKIE_NAME="vsw_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(config.get("PUBLIC_URL") or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
    )


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Check the CSRF token of every POST, then ask for a login where one is needed."""
    if request.method == "POST":
        check_csrf()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    publisher = current_publisher()
    if publisher is None:
        here = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for(".login", next=safe_next(here)), 303)
    g.publisher = publisher
    return None


@bp.after_request
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


@bp.errorhandler(VSWidgetError)
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


@bp.app_template_filter("vsw_int")
def whole_number(value: int) -> str:
    """Format a count with thousands separators."""
    return f"{value:,}"


@bp.app_template_filter("vsw_percent")
def percent_or_dash(value: int | None) -> str:
    """Format a whole percent, or "—" when there is nothing to divide by."""
    return "—" if value is None else f"{value}%"


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "labels": LABELS, "day_pattern": DAY_PATTERN}


# -- session, login, CSRF --------------------------------------------------------


def csrf_token() -> str:
    """Return the session's CSRF token, making one on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse a form whose token is missing or not this session's."""
    expected = session.get("csrf")
    sent = request.form.get("csrf", "")
    # As bytes: compare_digest refuses str with characters beyond ASCII.
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused()


def current_publisher() -> Publisher | None:
    """Return the publisher whose session the cookie names, if it is still open."""
    session_id = session.get("session")
    return sessions.publisher_of(session_id) if isinstance(session_id, str) else None


def me() -> Publisher:
    return cast(Publisher, g.publisher)


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a dashboard path on this site, else None."""
    if not target or len(target) > 2000 or not target.startswith("/dashboard/"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; a failed login says only that it failed."""
    if request.method == "GET":
        target = safe_next(request.args.get("next"))
        if current_publisher() is not None:
            return redirect(target or url_for(".overview"), 303)
        return render_template("dashboard/login.html", next=target, handle="", failed=False)
    form = load(LoginForm(), request.form)
    target = safe_next(form["next"])
    attempt = login_limits.begin(reader_address(), current_app.config["LOGIN_FAILURE_RATE_LIMIT"])
    publisher = store.publisher_for_login(form["handle"], form["password"])
    if publisher is None:
        html = render_template(
            "dashboard/login.html", next=target, handle=form["handle"], failed=True
        )
        return html, 200
    login_limits.succeeded(attempt)
    session.clear()
    session.permanent = True
    session["session"] = sessions.open_session(publisher, timedelta(days=SESSION_DAYS))
    csrf_token()
    return redirect(target or url_for(".overview"), 303)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """Ask to log out (GET), log out (POST): the session ends on the server too."""
    if request.method == "GET":
        return render_template("dashboard/logout.html", publisher=me())
    sessions.close_session(session["session"])
    session.clear()
    flash("You are logged out.")
    return redirect(url_for(".login"), 303)


# -- date ranges -------------------------------------------------------------------


def parse_range(args: Mapping[str, str]) -> Range:
    """Return the range a query asks for: ``days`` (7, 30, 90) or ``since``/``until``."""
    chosen: Range = load(RangeQuery(), args)
    return chosen


# -- the overview ----------------------------------------------------------------------


@bp.get("/")
def overview() -> ResponseReturnValue:
    """Every comparison of the logged-in publisher with its last 30 days."""
    page: int = load(OverviewQuery(), request.args)["page"]
    comparisons, total = store.list_comparisons(me(), (page - 1) * PER_PAGE, PER_PAGE)
    if not comparisons and page > 1:
        raise NotFound(f"There is no page {page:,} of comparisons.")
    since, until = analytics.default_range(None, None, DEFAULT_DAYS)
    figures = analytics.totals([comparison.id for comparison in comparisons], since, until)
    rows = []
    for comparison in comparisons:
        views = [counts.views for _, counts in analytics.series(comparison.id, since, until)]
        label = f"Views per day, {since.isoformat()} to {until.isoformat()}: {sum(views):,}"
        rows.append(
            {
                "slug": comparison.slug,
                "title": store.document(comparison)["title"],
                "totals": figures[comparison.id],
                "spark": charts.sparkline(views, label=label),
            }
        )
    return render_template(
        "dashboard/overview.html",
        publisher=me(),
        rows=rows,
        since=since,
        until=until,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
    )


# -- a comparison's page ------------------------------------------------------------------


def _top(values: Mapping[str, int]) -> str | None:
    """Return the key with the single highest value; None on a tie or without values."""
    if not values:
        return None
    best = max(values.values())
    leaders = [key for key, value in values.items() if value == best]
    return leaders[0] if len(leaders) == 1 else None


def disagreement(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return, per item, how the panel and the community see it, and where they part.

    Panel ship (the widget's figure) rates each item on its own, so two items can
    both have 100%; the community's shares of votes add up to 100%. To compare like
    with like, the panel's *share* is each item's part of all ship verdicts. An item
    is flagged when that and the community's share differ by DISAGREEMENT_POINTS or
    more; the comparison is flagged when the community's top pick is not the panel's.
    """
    items, panel = data["items"], data["panel"]
    ships = {
        item["key"]: sum(1 for r in panel if r["verdicts"][item["key"]]["verdict"] == "ship")
        for item in items
    }
    all_ships = sum(ships.values())
    rows = []
    for item in items:
        share = percent(ships[item["key"]], all_ships)
        community = item["community"]
        gap = None if share is None or community is None else community - share
        rows.append(
            {
                "key": item["key"],
                "name": item["name"],
                "panel": item["panel_ship"],
                "panel_share": share,
                "community": community,
                "votes": item["votes"],
                "gap": gap,
                "flagged": gap is not None and abs(gap) >= DISAGREEMENT_POINTS,
            }
        )
    names = {item["key"]: item["name"] for item in items}
    panel_top = _top(dict(ships)) if all_ships else None
    community_top = _top({item["key"]: item["votes"] for item in items}) if data["votes"] else None
    differs = panel_top is not None and community_top is not None and panel_top != community_top
    return {
        "rows": rows,
        "has_panel": bool(panel),
        "votes": data["votes"],
        "panel_top": names.get(panel_top or ""),
        "community_top": names.get(community_top or ""),
        "top_differs": differs,
        "margin": DISAGREEMENT_POINTS,
    }


def vote_shares(
    comparison: Comparison, data: Mapping[str, Any], chosen: Range, days: list[date]
) -> dict[str, Any]:
    """Return the votes cast per item and day over the range: a chart and totals."""
    found = analytics.item_series(comparison.id, chosen.since, chosen.until)
    labels: dict[str, str] = {}
    for item in data["items"]:
        name = item["name"]
        labels[item["key"]] = name if name not in labels.values() else f"{name} ({item['key']})"
    position = {day: index for index, day in enumerate(days)}
    daily = {key: [0] * len(days) for key in labels}
    clicks = dict.fromkeys(labels, 0)
    other_votes = other_clicks = 0
    for key, rows in found.items():
        for day, votes, clicked in rows:
            if key in daily:
                daily[key][position[day]] += votes
                clicks[key] += clicked
            else:  # an item since removed, or a key no item ever had
                other_votes += votes
                other_clicks += clicked
    cast_votes = sum(sum(values) for values in daily.values())
    items = [
        {
            "name": labels[key],
            "votes": sum(daily[key]),
            "share": percent(sum(daily[key]), cast_votes),
            "clicks": clicks[key],
        }
        for key in labels
    ]
    chart = charts.line_chart(
        {labels[key]: values for key, values in daily.items()},
        days,
        classes={label: f"vsw-i{n}" for n, label in enumerate(labels.values(), start=1)},
        title=f"Votes cast per day for each item, {_span(chosen)}",
        description=", ".join(f"{item['name']}: {item['votes']:,} votes" for item in items),
    )
    return {
        "rows": items,
        "cast": cast_votes,
        "other_votes": other_votes,
        "other_clicks": other_clicks,
        "chart": chart,
        "daily": [(day, [daily[key][index] for key in labels]) for index, day in enumerate(days)],
        "names": list(labels.values()),
    }


def _every(seconds: float) -> str:
    if seconds == 60:
        return "minute"
    if seconds % 60 == 0:
        return f"{int(seconds) // 60} minutes"
    return "second" if seconds == 1 else f"{seconds:g} seconds"


def _span(chosen: Range) -> str:
    return f"{chosen.since.isoformat()} to {chosen.until.isoformat()}"


def host_page_number(args: Mapping[str, str]) -> int:
    """Return the page of embed locations a query asks for, from 1."""
    text = args.get("page", "1").strip()
    if not PAGE_NUMBER.fullmatch(text) or int(text) < 1:
        raise BadRequest(
            f"The page {text[:40]!r} is not a whole number from 1.", {"page": ["Not a page."]}
        )
    return int(text)


def host_pages(
    comparison: Comparison, chosen: Range, origin: str | None, number: int
) -> dict[str, Any]:
    """Return one page of a comparison's embed locations over the range, and where it is."""
    listed = analytics.pages(comparison.id, chosen.since, chosen.until, origin)
    last = max(1, -(-len(listed) // HOST_PAGES_SHOWN))
    if number > last:
        raise NotFound(f"There is no page {number:,} of embed locations.")
    start = (number - 1) * HOST_PAGES_SHOWN
    return {
        "rows": listed[start : start + HOST_PAGES_SHOWN],
        "total": len(listed),
        "number": number,
        "last": last,
        "first_shown": start + 1,
    }


def figures(
    comparison: Comparison, chosen: Range, origin: str | None, page: int = 1
) -> dict[str, Any]:
    """Return everything a comparison's page shows, read from the rollups."""
    days_counts = analytics.series(comparison.id, chosen.since, chosen.until, origin)
    days = [day for day, _ in days_counts]
    total = analytics.Totals()
    for _, counts in days_counts:
        total.add(counts)
    data = payloads.payload_data(comparison, None)
    where = f" on {origin}" if origin else ""

    def chart(names: tuple[str, ...], what: str) -> Any:
        values = {
            LABELS[name]: [getattr(counts, name) for _, counts in days_counts] for name in names
        }
        summary = ", ".join(f"{label}: {sum(counts):,}" for label, counts in values.items())
        return charts.line_chart(
            values,
            days,
            title=f"{what} per day{where}, {_span(chosen)}",
            description=f"Totals over the range: {summary}.",
            classes=COLOURS,
        )

    since, until = chosen.since, chosen.until
    other_pages = analytics.other_pages(comparison.id, since, until)
    return {
        "comparison": comparison,
        "data": data,
        "range": chosen,
        "presets": PRESETS,
        "origin": origin,
        "totals": total,
        "rates": [
            (label, total.rates()[key], getattr(total, part))
            for key, (label, part) in RATES.items()
        ],
        "reach_chart": chart(REACH, "Impressions and views"),
        "actions_chart": chart(ACTIONS, "Votes, clicks and sign-ups"),
        "days": days_counts,
        "pages": host_pages(comparison, chosen, origin, page),
        "other_pages": other_pages
        if origin is None and other_pages != analytics.Totals()
        else None,
        "dropped": analytics.dropped(comparison.id, since, until) if origin is None else None,
        "origins": analytics.origins(comparison.id, since, until),
        "page_cap": current_app.config["EVENT_PAGES_PER_DAY"],
        "votes": vote_shares(comparison, data, chosen, days) if origin is None else None,
        "disagreement": disagreement(data),
        "share_days": SHARE_DAYS,
        "title": data["title"],
        "rollup_every": _every(current_app.config["ROLLUP_SECONDS"]),
    }


@bp.get("/c/<slug>")
def comparison_page(slug: str) -> ResponseReturnValue:
    """One comparison's figures over a range, with a form to share them."""
    comparison = store.get_comparison(me(), slug)
    chosen = parse_range(request.args)
    return render_template(
        "dashboard/comparison.html",
        **figures(comparison, chosen, None, host_page_number(request.args)),
        shared=None,
        publisher=me(),
        page_url=lambda **query: url_for(".comparison_page", slug=slug, **query),
        csv_url=url_for(".comparison_csv", slug=slug, **chosen.query()),
    )


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


@bp.get("/c/<slug>.csv")
def comparison_csv(slug: str) -> Response:
    """The figures of a comparison's page as CSV, one row per day."""
    return csv_export(store.get_comparison(me(), slug), parse_range(request.args), None)


# -- share links ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareLink:
    """What a valid share link shows: one comparison, maybe one host site, until when."""

    token: str
    comparison: Comparison
    origin: str | None
    expires: datetime


def share_token(comparison: Comparison, origin: str | None, days: int) -> tuple[str, datetime]:
    """Return a new share link token for a comparison and when it expires."""
    expires = int(time.time()) + days * 24 * 3600
    token = signing.sign(signing.SHARE_LINK, [comparison.public_id, origin, expires])
    return token, datetime.fromtimestamp(expires, UTC)


def read_share(token: str) -> ShareLink:
    """Return what a share link shows; LinkRefused or LinkExpired for a bad one."""
    if len(token) > 1000:
        raise LinkRefused()
    try:
        value = signing.unsign(signing.SHARE_LINK, token)
    except signing.SignatureExpired:
        raise LinkExpired() from None
    except signing.BadSignature:
        raise LinkRefused() from None
    if not (
        isinstance(value, list)
        and len(value) == 3
        and (type(value[0]) is int or isinstance(value[0], str))  # int: a link from before 0009
        and (value[1] is None or isinstance(value[1], str))
        and type(value[2]) is int
    ):
        raise LinkRefused()
    reference, origin, expires = value
    ends = datetime.fromtimestamp(expires, UTC)
    if expires <= time.time():
        raise LinkExpired(
            f"This share link expired on {ends:%Y-%m-%d %H:%M} UTC. "
            "Ask the site owner for a new one."
        )
    comparison = store.comparison_named(reference)
    if comparison is None:
        raise NotFound("The comparison this link showed has been deleted.")
    return ShareLink(token, comparison, origin, ends)


def _known_origins(comparison: Comparison) -> set[str]:
    """Return the host sites that showed a comparison in the past year."""
    until = today()
    return set(analytics.origins(comparison.id, until - timedelta(365), until))


@bp.post("/c/<slug>/share")
def create_share(slug: str) -> ResponseReturnValue:
    """Make a read-only link to a comparison's page, maybe limited to one host site."""
    comparison = store.get_comparison(me(), slug)
    form = load(ShareForm(), request.form)
    origin = form.get("origin")
    if origin is not None and origin not in _known_origins(comparison):
        raise BadRequest(
            "Choose a host site from the embed locations, or all sites.",
            {"origin": ["Not a host site of this comparison."]},
        )
    token, expires = share_token(comparison, origin, form["days"])
    return render_template(
        "dashboard/share_created.html",
        publisher=me(),
        comparison=comparison,
        title=store.document(comparison)["title"],
        url=public_base() + url_for(".shared", token=token),
        origin=origin,
        expires=expires,
    )


@bp.get("/share/<token>")
def shared(token: str) -> ResponseReturnValue:
    """A comparison's page, read-only, through a share link; no session needed."""
    link = read_share(token)
    chosen = parse_range(request.args)
    return render_template(
        "dashboard/comparison.html",
        **figures(link.comparison, chosen, link.origin, host_page_number(request.args)),
        shared=link,
        publisher=None,
        page_url=lambda **query: url_for(".shared", token=token, **query),
        csv_url=url_for(".shared_csv", token=token, **chosen.query()),
    )


@bp.get("/share/<token>.csv")
def shared_csv(token: str) -> Response:
    """A share link's figures as CSV, limited the same way."""
    link = read_share(token)
    return csv_export(link.comparison, parse_range(request.args), link.origin)


@bp.route("/<path:path>", methods=["GET", "POST"])
def missing(path: str) -> ResponseReturnValue:
    """Any other dashboard address: a readable 404 page."""
    raise NotFound("There is no dashboard page at this address.")
