"""Demo mode (``vswidget serve --demo``): a sample blog post with the demo comparison embedded."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template

from .. import store
from ..demo import DEMO_HANDLE, demo_document
from ..embed import embed_details

bp = Blueprint("demo", __name__)


@bp.get("/demo")
def blog_post() -> Response:
    """A blog post, as a blogger would write it, with the demo snippet pasted in."""
    slug = demo_document()["slug"]
    comparison = store.get_comparison(store.get_publisher(DEMO_HANDLE), slug)
    embed = embed_details(comparison, store.document(comparison))
    return make_response(render_template("demo.html", embed=embed))
