"""What a comparison's page shows, assembled from the rollups: totals, rates, charts,
embed locations, votes per item, and where the community and the panel disagree.

Every figure comes from the daily rollups (``analytics``), never from raw events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from flask import current_app
from markupsafe import Markup

from ....changes import Change
from ....errors import BadRequest, NotFound
from ... import analytics, charts, payloads
from ...store import Comparison
from ...tallies import percent, ship_count
from . import trends
from .inputs import LIVE_MINUTES, PRESETS, SHARE_DAYS, Range, RangeQuery, load

HOST_PAGES_SHOWN = 100  # embed locations a page of the list shows
PAGE_NUMBER = re.compile(r"[0-9]{1,9}")

# A gap this large, in percentage points, between the panel's ship share and the
# community's share of votes flags an item.
DISAGREEMENT_POINTS = 20

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


def parse_range(args: Mapping[str, str]) -> Range:
    """Return the range a query asks for: ``days`` (7, 30, 90) or ``since``/``until``."""
    chosen: Range = load(RangeQuery(), args)
    return chosen


def scrolling_chart(
    series: Mapping[str, Sequence[int]], days: Sequence[date], **options: Any
) -> Markup:
    """Return ``charts.line_chart`` of ``series`` led by its count scale, which the page
    keeps in view while the chart scrolls (``.dash-chart`` in static/dashboard.css)."""
    return charts.count_scale(series) + charts.line_chart(series, days, **options)


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
    ships = {item["key"]: ship_count(panel, item["key"]) for item in items}
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
    before = trends.previous_item_votes(comparison.id, chosen)
    items = [
        {
            "name": labels[key],
            "votes": sum(daily[key]),
            "change": Change(sum(daily[key]), before.get(key, 0)),
            "share": percent(sum(daily[key]), cast_votes),
            "clicks": clicks[key],
        }
        for key in labels
    ]
    chart = scrolling_chart(
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
    rows = listed[start : start + HOST_PAGES_SHOWN]
    return {
        "rows": rows,
        "changes": trends.page_changes(comparison.id, chosen, origin, rows),
        "total": len(listed),
        "number": number,
        "last": last,
        "first_shown": start + 1,
    }


def figures(
    comparison: Comparison, chosen: Range, origin: str | None, page: int = 1
) -> dict[str, Any]:
    """Return everything a comparison's page shows: over days, read from the rollups;
    over the last minutes, from the newest raw events (``trends``)."""
    data = payloads.payload_data(comparison, None)
    since, until = chosen.since, chosen.until
    shown = {
        "comparison": comparison,
        "data": data,
        "range": chosen,
        "presets": PRESETS,
        "live_minutes": LIVE_MINUTES,
        "origin": origin,
        "origins": analytics.origins(comparison.id, since, until),
        "page_cap": current_app.config["EVENT_PAGES_PER_DAY"],
        "disagreement": disagreement(data),
        "share_days": SHARE_DAYS,
        "title": data["title"],
        "rollup_every": _every(current_app.config["ROLLUP_SECONDS"]),
        "previous_words": trends.previous_words(chosen),
    }
    if chosen.minutes is not None:
        window = trends.windows([comparison.id], chosen, origin)[comparison.id]
        counted = _counted(window.minutes, window.previous, origin, "minute", trends.minute)
        return {
            **shown,
            **counted,
            "period": trends.period(chosen, window),
            "pages": None,
            "other_pages": None,
            "dropped": None,
            "votes": None,
        }
    days_counts = analytics.series(comparison.id, since, until, origin)
    days = [day for day, _ in days_counts]
    previous = trends.previous_of(comparison.id, chosen, origin)
    other_pages = analytics.other_pages(comparison.id, since, until)
    return {
        **shown,
        **_counted(days_counts, previous, origin, "day", date.isoformat),
        "period": trends.period(chosen),
        "pages": host_pages(comparison, chosen, origin, page),
        "other_pages": other_pages
        if origin is None and other_pages != analytics.Totals()
        else None,
        "dropped": analytics.dropped(comparison.id, since, until) if origin is None else None,
        "votes": vote_shares(comparison, data, chosen, days) if origin is None else None,
    }


def _counted(
    counts: Sequence[tuple[date, analytics.Totals]],
    previous: analytics.Totals,
    origin: str | None,
    per: str,
    when: Callable[[date], str],
) -> dict[str, Any]:
    """Return the totals, rates, their changes and charts of ``counts``, one a day or minute."""
    total = analytics.summed(counts)
    moments = [moment for moment, _ in counts]
    span = f"{when(moments[0])} to {when(moments[-1])}" if moments else ""
    where = f" on {origin}" if origin else ""

    def chart(names: tuple[str, ...], what: str) -> Any:
        values = {LABELS[name]: [getattr(each, name) for _, each in counts] for name in names}
        summary = ", ".join(f"{label}: {sum(each):,}" for label, each in values.items())
        return scrolling_chart(
            values,
            moments,
            title=f"{what} per {per}{where}, {span}",
            description=f"Totals over the range: {summary}.",
            classes=COLOURS,
            when=when,
        )

    rate_changes = trends.rate_changes(total, previous)
    return {
        "totals": total,
        "changes": trends.changes(total, previous),
        "rates": [
            (label, total.rates()[key], getattr(total, part), rate_changes[key])
            for key, (label, part) in RATES.items()
        ],
        "reach_chart": chart(REACH, "Impressions and views"),
        "actions_chart": chart(ACTIONS, "Votes, clicks and sign-ups"),
        "days": counts,
        "per": per,
        "when": when,
    }
