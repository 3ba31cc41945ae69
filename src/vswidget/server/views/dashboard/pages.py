"""The logged-in publisher's pages: the overview of their comparisons, and one
comparison's page (which share links show too, read-only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from ....errors import NotFound
from ... import analytics, charts, store
from ...store import Comparison
from . import trends
from .authentication import me
from .inputs import LIVE_MINUTES, PER_PAGE, PRESETS, OverviewQuery, Range, load
from .report import figures, host_page_number, parse_range
from .segments import segment_section

if TYPE_CHECKING:
    from .share_links import ShareLink


def overview() -> ResponseReturnValue:
    """Every comparison of the logged-in publisher with its figures over the range the
    query asks for (as a comparison's page takes it), and their changes."""
    page: int = load(OverviewQuery(), request.args)["page"]
    chosen = parse_range(request.args)
    comparisons, total = store.list_comparisons(me(), (page - 1) * PER_PAGE, PER_PAGE)
    if not comparisons and page > 1:
        raise NotFound(f"There is no page {page:,} of comparisons.")
    ids = [comparison.id for comparison in comparisons]
    rows = []
    for comparison, (counts, previous) in zip(
        comparisons, overview_figures(ids, chosen).values(), strict=True
    ):
        totals = analytics.summed(counts)
        views = [each.views for _, each in counts]
        label = f"Views per {'minute' if chosen.minutes else 'day'}: {sum(views):,}"
        rows.append(
            {
                "slug": comparison.slug,
                "title": store.document(comparison)["title"],
                "totals": totals,
                "changes": trends.changes(totals, previous),
                "spark": charts.sparkline(views, label=label),
            }
        )
    return render_template(
        "dashboard/overview.html",
        publisher=me(),
        rows=rows,
        range=chosen,
        presets=PRESETS,
        live_minutes=LIVE_MINUTES,
        period=trends.period(chosen) if chosen.minutes is None else None,
        previous_words=trends.previous_words(chosen),
        page_url=lambda **query: url_for(".overview", **query),
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
    )


def overview_figures(
    comparison_ids: list[int], chosen: Range
) -> dict[int, tuple[Sequence[tuple[date, analytics.Totals]], analytics.Totals]]:
    """Return each comparison's figures over the range, per day or minute, and its
    totals over the previous period: the same few statements for any number of them."""
    if chosen.minutes is not None:
        found = trends.windows(comparison_ids, chosen, None)
        return {key: (window.minutes, window.previous) for key, window in found.items()}
    days_of = analytics.series_of(comparison_ids, chosen.since, chosen.until)
    previous = trends.previous_totals(comparison_ids, chosen)
    return {key: (days_of[key], previous[key]) for key in comparison_ids}


def comparison_page(slug: str) -> ResponseReturnValue:
    """One comparison's figures over a range, with a form to share them."""
    comparison = store.get_comparison(me(), slug)
    return comparison_html(comparison, None, ".comparison_page", ".comparison_csv", slug=slug)


def comparison_html(
    comparison: Comparison,
    link: ShareLink | None,
    page_endpoint: str,
    csv_endpoint: str,
    **address: Any,
) -> str:
    """Render a comparison's page over the range the query asks for: the logged-in
    publisher's, or a share link's, read-only and limited to the link's host site if it
    names one. The page's links go to ``page_endpoint`` and ``csv_endpoint`` at ``address``.
    """
    chosen = parse_range(request.args)
    origin = None if link is None else link.origin
    kept = {"host_page": request.args.get("host_page") or None}  # the links keep the page
    return render_template(
        "dashboard/comparison.html",
        **figures(comparison, chosen, origin, host_page_number(request.args)),
        segments=segment_section(comparison, chosen, origin, request.args),
        shared=link,
        publisher=None if link else me(),
        page_url=lambda **query: url_for(page_endpoint, **address, **(kept | query)),
        host_page=kept["host_page"],
        csv_url=url_for(csv_endpoint, **address, **chosen.query()),
    )
