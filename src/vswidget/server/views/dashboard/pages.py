"""The logged-in publisher's pages: the overview of their comparisons, and one
comparison's page (which share links show too, read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from ....errors import NotFound
from ... import analytics, charts, store
from ...date_range import default_range
from ...store import Comparison
from .authentication import me
from .inputs import PER_PAGE, OverviewQuery, load
from .report import figures, host_page_number, parse_range
from .segments import segment_section

if TYPE_CHECKING:
    from .share_links import ShareLink


def overview() -> ResponseReturnValue:
    """Every comparison of the logged-in publisher with its last 30 days."""
    page: int = load(OverviewQuery(), request.args)["page"]
    comparisons, total = store.list_comparisons(me(), (page - 1) * PER_PAGE, PER_PAGE)
    if not comparisons and page > 1:
        raise NotFound(f"There is no page {page:,} of comparisons.")
    since, until = default_range(None, None)
    days_of = analytics.series_of([comparison.id for comparison in comparisons], since, until)
    rows = []
    for comparison in comparisons:
        days = days_of[comparison.id]
        views = [counts.views for _, counts in days]
        label = f"Views per day, {since.isoformat()} to {until.isoformat()}: {sum(views):,}"
        rows.append(
            {
                "slug": comparison.slug,
                "title": store.document(comparison)["title"],
                "totals": analytics.summed(days),
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
        csv_url=url_for(csv_endpoint, **address, **chosen.query()),
    )
