"""Response headers: caching (ETag, Cache-Control), CORS and security."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.http import parse_accept_header

# Public reads: fresh for a minute, then served stale while a CDN revalidates.
PUBLIC_CACHE = "public, max-age=60, stale-while-revalidate=600"

# Every response carries these.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}

# Pages run only our own scripts. Inline style attributes are allowed: the templates
# set bar widths and heights from numbers the server computed, never from text.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' https: http: data:; connect-src 'self'; form-action 'self'; base-uri 'none'"
)


def cacheable(response: Response, etag: str, cache_control: str = PUBLIC_CACHE) -> Response:
    """Mark a public response cacheable and answer 304 when the client has it already."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.make_conditional(request)
    return response


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Say whether a request's Accept-Encoding takes gzip."""
    return parse_accept_header(accept_encoding).quality("gzip") > 0


def open_cors(response: Response) -> Response:
    """Let any page read the response: the public API carries no credentials."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def page_csp(frame_ancestors: str) -> str:
    """Return the Content-Security-Policy of a page that may be framed by ``frame_ancestors``."""
    return f"{PAGE_CSP}; frame-ancestors {frame_ancestors}"


def frame_ancestors(hosts: list[str] | None) -> str:
    """Return the CSP ``frame-ancestors`` sources for a comparison's ``hosts``: each host
    (``*.example.com`` too) on http and https and any port, as the hosts rule reads them,
    and our own origin; ``*`` when it names none."""
    if not hosts:
        return "*"
    return " ".join(
        ["'self'", *(f"{scheme}://{host}:*" for host in hosts for scheme in ("https", "http"))]
    )


def init_app(app: Flask) -> None:
    """Add the security headers every response carries, and a strict CSP to HTML pages."""

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", page_csp("'none'"))
            if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
                response.headers.setdefault("X-Frame-Options", "DENY")
        return response
