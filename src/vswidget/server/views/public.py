"""What readers' browsers fetch, without credentials: payloads, widget.js, pages, oEmbed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    make_response,
    render_template,
    request,
    url_for,
)

from ...errors import BadRequest, NotFound, NotSupported
from .. import layout, payloads, signing, static_files, store, tickets
from ..address_limits import per_address
from ..embed import embed_token, frame_fit, frame_url, public_base
from ..headers import cacheable, frame_ancestors, open_cors, page_csp
from ..i18n import LABELS
from ..store import Comparison

bp = Blueprint("public", __name__)

OEMBED_WIDTH = 720
WORDPRESS_MAX_HEIGHT = 1000  # wp-embed.js never makes an embed's frame taller
THEMES = ("light", "dark", "auto")  # ?theme= of the iframe form; light when not given


@bp.after_request
def cors(response: Response) -> Response:
    if request.path.startswith("/v1/") or request.path in {"/widget.js", "/oembed"}:
        open_cors(response)
    return response


@bp.get("/v1/payload/<token>")
@per_address("READ_RATE_LIMIT")
def payload(token: str) -> Response:
    """One widget's payload."""
    return _payload_response(payloads.payload(token, request.args.get("lang")))


@bp.get("/v1/payloads")
@per_address("READ_RATE_LIMIT")
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
    """The one script that renders every widget of a page, gzipped for browsers that ask."""
    response = static_files.send("widget.js", request.headers.get("Accept-Encoding"))
    response.headers["Cache-Control"] = "public, max-age=300, stale-while-revalidate=86400"
    return response


@bp.get("/embed/<handle>/<slug>")
@per_address("READ_RATE_LIMIT")
def frame_page(handle: str, slug: str) -> Response:
    """The iframe form by the comparison's address: an embed keeps working when the
    comparison is edited, or deleted and published again under the same slug."""
    try:
        return _frame(store.get_comparison(store.get_publisher(handle), slug))
    except NotFound:
        return _unavailable(frame_ancestors="*")


@bp.get("/embed/<token>")
@per_address("READ_RATE_LIMIT")
def embed_page(token: str) -> Response:
    """The iframe form by embed token, as iframe URLs were before they named the address."""
    try:
        return _frame(payloads.comparison_for_token(token))
    except NotFound:
        return _unavailable(frame_ancestors="*")


def _frame(comparison: Comparison) -> Response:
    """The iframe form: server-rendered, compact enough for WordPress's 1,000 px at any
    width, readable without JavaScript. Framable anywhere, or only by the comparison's
    hosts when it names some: then its vote ticket is this reader's own (tickets.py), so
    the page is never shared by a cache."""
    built = payloads.payload(embed_token(comparison), request.args.get("lang"))
    p = json.loads(built.json)
    theme = _theme("light")
    document = store.document(comparison)
    hosts = document.get("hosts")
    if hosts:
        p["ticket"] = tickets.framed(comparison.public_id)
    signup, tight = frame_fit(document)
    visits = {
        item["key"]: public_base()
        + url_for(
            "readers.go", link=signing.sign(signing.ITEM_LINK, [comparison.public_id, item["key"]])
        )
        for item in p["items"]
        if item.get("url")
    }
    html = render_template(
        "embed.html", p=p, theme=theme, visits=visits, signup=signup, tight=tight
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = page_csp(frame_ancestors(hosts))
    if hosts:
        response.headers["Cache-Control"] = "private, no-store"
        return response
    return cacheable(response, f"{built.etag}-{theme}")


@bp.get("/c/<handle>/<slug>")
@per_address("READ_RATE_LIMIT")
def canonical_page(handle: str, slug: str) -> Response:
    """The comparison's own page, with Open Graph, JSON-LD and oEmbed discovery."""
    try:
        comparison = store.get_comparison(store.get_publisher(handle), slug)
        built = payloads.payload(embed_token(comparison), request.args.get("lang"))
    except NotFound:
        return _unavailable(frame_ancestors="'none'")
    data = json.loads(built.json)
    oembed = f"{public_base()}/oembed?" + urlencode({"url": data["url"], "format": "json"})
    theme = _theme("auto")
    html = render_template(
        "canonical.html",
        p=data,
        handle=handle,
        oembed_url=oembed,
        jsonld=_jsonld(data),
        theme=theme,
    )
    return cacheable(make_response(html), f"{built.etag}-{theme}")


def _theme(default: str) -> str:
    """Return the page's ?theme=, or ``default`` when it names none we know."""
    theme = request.args.get("theme", default)
    return theme if theme in THEMES else default


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
@per_address("READ_RATE_LIMIT")
def oembed() -> Response:
    """oEmbed for a canonical or iframe URL, in the shape of WordPress's own post embeds: a
    link in a blockquote (what shows until the frame speaks), then the iframe form.

    The pasted URL's ``?theme=`` and ``?lang=`` go on to the iframe. The frame's URL names
    the comparison's address, not its token, so an embed WordPress keeps in its post meta
    goes on working after the comparison is deleted and published again.
    """
    fmt = request.args.get("format", "json")
    if fmt != "json":
        raise NotSupported("Only format=json is offered.", {"format": ["Must be json."]})
    url = request.args.get("url", "")
    comparison, options = _comparison_for_url(url)
    built = payloads.payload(embed_token(comparison), options.get("lang"))
    p = json.loads(built.json)
    width = _bounded("maxwidth", OEMBED_WIDTH)
    document = store.document(comparison)
    height = layout.frame_height(document, width, *frame_fit(document))
    height = _bounded("maxheight", min(height, WORDPRESS_MAX_HEIGHT))
    src = frame_url(comparison.publisher_handle, comparison.slug)
    if options:
        src += "?" + urlencode(options)
    html = render_template("oembed.html", src=src, height=height, p=p).strip()
    answer = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "vswidget",
        "provider_url": public_base() + "/",
        "title": p["title"],
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 3600,
    }
    body = json.dumps(answer, ensure_ascii=False)
    etag = f"{built.etag}-{width}x{height}-{urlencode(options)}"
    return cacheable(Response(body, mimetype="application/json"), etag)


def _comparison_for_url(url: str) -> tuple[Comparison, dict[str, str]]:
    """Return the comparison one of our canonical or iframe URLs names, and the options
    (theme, lang) the URL carries for the iframe; NotFound for any other URL."""
    unknown = NotFound("This URL is not a comparison of this server.")
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken [IPv6] host
        raise unknown from None
    ours = urlsplit(public_base())
    if parts.scheme not in {"http", "https"} or parts.netloc != ours.netloc:
        raise unknown
    segments = [s for s in parts.path.split("/") if s]
    try:
        if len(segments) == 3 and segments[0] in {"c", "embed"}:
            comparison = store.get_comparison(store.get_publisher(segments[1]), segments[2])
        elif len(segments) == 2 and segments[0] == "embed":
            comparison = payloads.comparison_for_token(segments[1])
        else:
            raise unknown
    except NotFound:
        raise unknown from None
    query = parse_qs(parts.query)
    options = {
        name: query[name][0]
        for name, allowed in (("theme", THEMES), ("lang", LABELS))
        if query.get(name) and query[name][0] in allowed
    }
    return comparison, options


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
