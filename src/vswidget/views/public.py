"""What readers' browsers fetch, without credentials: payloads, widget.js, pages, oEmbed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from .. import payloads, store
from ..embed import embed_token, public_base
from ..errors import BadRequest, NotFound, NotSupported
from ..headers import cacheable, open_cors, page_csp

bp = Blueprint("public", __name__)

OEMBED_WIDTH = 720


@bp.after_request
def cors(response: Response) -> Response:
    if request.path.startswith("/v1/") or request.path in {"/widget.js", "/oembed"}:
        open_cors(response)
    return response


@bp.get("/v1/payload/<token>")
def payload(token: str) -> Response:
    """One widget's payload."""
    return _payload_response(payloads.payload(token, request.args.get("lang")))


@bp.get("/v1/payloads")
def payload_batch() -> Response:
    """The payloads of every widget on a page, in one answer; bad tokens under "errors"."""
    tokens = list(dict.fromkeys(request.args.getlist("t")))
    if not tokens:
        raise BadRequest(
            "Name at least one embed token: /v1/payloads?t=TOKEN.", {"t": ["Missing."]}
        )
    if len(tokens) > payloads.MAX_TOKENS:
        raise BadRequest(
            f"Ask for at most {payloads.MAX_TOKENS} tokens at once.",
            {"t": [f"At most {payloads.MAX_TOKENS}."]},
        )
    return _payload_response(payloads.batch(tokens, request.args.get("lang")))


def _payload_response(built: payloads.Payload) -> Response:
    data, headers = payloads.content(built, request.headers.get("Accept-Encoding"))
    response = Response(data, headers=headers)
    response.vary.add("Accept-Encoding")
    return cacheable(response, built.etag)


@bp.get("/widget.js")
def widget_js() -> Response:
    """The one script that renders every widget of a page."""
    response = send_from_directory(current_app.static_folder or "", "widget.js")
    response.headers["Cache-Control"] = "public, max-age=300, stale-while-revalidate=86400"
    return response


@bp.get("/embed/<token>")
def embed_page(token: str) -> Response:
    """The iframe form: server-rendered, readable without JavaScript, framable anywhere."""
    try:
        built = payloads.payload(token, request.args.get("lang"))
    except NotFound:
        return _unavailable(frame_ancestors="*")
    html = render_template("embed.html", p=json.loads(built.json))
    response = make_response(html)
    response.headers["Content-Security-Policy"] = page_csp("*")
    return cacheable(response, built.etag)


@bp.get("/c/<handle>/<slug>")
def canonical_page(handle: str, slug: str) -> Response:
    """The comparison's own page, with Open Graph, JSON-LD and oEmbed discovery."""
    try:
        comparison = store.get_comparison(store.get_publisher(handle), slug)
        built = payloads.payload(embed_token(comparison), request.args.get("lang"))
    except NotFound:
        return _unavailable(frame_ancestors="'none'")
    data = json.loads(built.json)
    oembed = f"{public_base()}/oembed?" + urlencode({"url": data["url"], "format": "json"})
    html = render_template(
        "canonical.html", p=data, handle=handle, oembed_url=oembed, jsonld=_jsonld(data)
    )
    return cacheable(make_response(html), built.etag)


def _unavailable(frame_ancestors: str) -> Response:
    response = make_response(render_template("unavailable.html"), 404)
    response.headers["Content-Security-Policy"] = page_csp(frame_ancestors)
    return response


def _jsonld(p: dict[str, Any]) -> dict[str, Any]:
    """Schema.org data for the panel's reviews; reader votes are never given as a rating."""
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": p["title"],
        "url": p["url"],
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "item": {
                    "@type": "Product",
                    "name": item["name"],
                    **({"description": item["tagline"]} if "tagline" in item else {}),
                    **({"url": item["url"]} if "url" in item else {}),
                    **({"image": item["logo"]} if "logo" in item else {}),
                    **({"category": item["category"]} if "category" in item else {}),
                    "review": [
                        {
                            "@type": "Review",
                            "author": {"@type": "Person", "name": reviewer["name"]},
                            **(
                                {"reviewBody": reviewer["verdicts"][item["key"]]["quote"]}
                                if "quote" in reviewer["verdicts"][item["key"]]
                                else {}
                            ),
                            "reviewRating": {
                                "@type": "Rating",
                                "ratingValue": int(
                                    reviewer["verdicts"][item["key"]]["verdict"] == "ship"
                                ),
                                "worstRating": 0,
                                "bestRating": 1,
                                "ratingExplanation": reviewer["verdicts"][item["key"]]["verdict"],
                            },
                        }
                        for reviewer in p["panel"]
                    ],
                },
            }
            for position, item in enumerate(p["items"], start=1)
        ],
    }


@bp.get("/oembed")
def oembed() -> Response:
    """oEmbed for a canonical or iframe URL: one iframe, with width and height."""
    fmt = request.args.get("format", "json")
    if fmt != "json":
        raise NotSupported("Only format=json is offered.", {"format": ["Must be json."]})
    url = request.args.get("url", "")
    token = _token_for_url(url)
    built = payloads.payload(token, None)
    p = json.loads(built.json)
    width = _bounded("maxwidth", OEMBED_WIDTH)
    height = _bounded("maxheight", p["height"])
    src = url_for("public.embed_page", token=token, _external=False)
    iframe = render_template(
        "oembed_iframe.html", src=public_base() + src, width=width, height=height, p=p
    ).strip()
    answer = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "vswidget",
        "provider_url": public_base() + "/",
        "title": p["title"],
        "html": iframe,
        "width": width,
        "height": height,
        "cache_age": 3600,
    }
    body = json.dumps(answer, ensure_ascii=False)
    return cacheable(Response(body, mimetype="application/json"), built.etag + f"-{width}x{height}")


def _token_for_url(url: str) -> str:
    """Return the embed token of one of our canonical or iframe URLs; NotFound otherwise."""
    unknown = NotFound("This URL is not a comparison of this server.")
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken [IPv6] host
        raise unknown from None
    ours = urlsplit(public_base())
    if parts.scheme not in {"http", "https"} or parts.netloc != ours.netloc:
        raise unknown
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) == 3 and segments[0] == "c":
        try:
            return embed_token(store.get_comparison(store.get_publisher(segments[1]), segments[2]))
        except NotFound:
            raise unknown from None
    if len(segments) == 2 and segments[0] == "embed":
        return segments[1]
    raise unknown


def _bounded(name: str, preferred: int) -> int:
    """Return ``preferred``, or the consumer's maximum when that is smaller."""
    raw = request.args.get(name)
    if raw is None:
        return preferred
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(
            f"{name} must be a whole number of pixels.", {name: ["Not a number."]}
        ) from None
    if limit < 1:
        raise BadRequest(f"{name} must be at least 1.", {name: ["Must be at least 1."]})
    return min(preferred, limit)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer browsers cache for a day, instead of a 404 in every console."""
    response = Response(status=204)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
