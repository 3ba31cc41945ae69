"""Payload reads the cache can answer, served in front of Flask: the server's hottest path.

Every reader of a blog post fetches the same payloads. When the cache holds every
payload a ``GET /v1/payload/TOKEN`` or ``GET /v1/payloads?t=...`` names, this WSGI layer
answers it (200, or 304 for a matching ``If-None-Match``) with the headers the Flask
views give, without a request context, routing or rate-limit hooks (reads answered here
make nothing and are not counted against READ_RATE_LIMIT). Anything else (a
miss, a bad token, a parameter it does not know, another method) goes on to Flask,
which answers, builds and caches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.http import http_date, is_resource_modified, quote_etag
from werkzeug.wrappers import Request

from . import inbound, payloads
from .embed import base_url
from .extensions import cache
from .headers import PUBLIC_CACHE, SECURITY_HEADERS

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

ONE = "/v1/payload/"
BATCH = "/v1/payloads"


class CachedReads:
    """Wrap ``app.wsgi_app``: cache hits of the payload API answered here, the rest by Flask."""

    def __init__(self, app: Flask) -> None:
        self.flask: WSGIApp = app.wsgi_app
        self.config = app.config
        self.backend = app.extensions["cache"][cache]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        hit = self.lookup(environ) if environ.get("REQUEST_METHOD") == "GET" else None
        if hit is None:
            return self.flask(environ, start_response)
        data, content_headers = payloads.content(hit, environ.get("HTTP_ACCEPT_ENCODING"))
        headers = [
            ("Date", http_date()),  # as werkzeug's conditional answers carry
            ("ETag", quote_etag(hit.etag)),
            ("Cache-Control", PUBLIC_CACHE),
            ("Access-Control-Allow-Origin", "*"),
            ("Vary", "Accept-Encoding"),
            *SECURITY_HEADERS.items(),
        ]
        if not is_resource_modified(environ, etag=hit.etag):
            start_response("304 NOT MODIFIED", headers)  # without entity headers, as werkzeug
            return []
        length = ("Content-Length", str(len(data)))
        start_response("200 OK", [*content_headers.items(), length, *headers])
        return [data]

    def lookup(self, environ: dict[str, Any]) -> payloads.Payload | None:
        """Return the answer the cache holds for a payload read, or None to let Flask answer."""
        path: str = environ.get("PATH_INFO", "")
        if not (path.startswith(ONE) or path == BATCH):
            return None
        raw_query = environ.get("QUERY_STRING", "")
        if len(raw_query) > inbound.MAX_QUERY_BYTES:  # Flask refuses it
            return None
        query = parse_qsl(raw_query, keep_blank_values=True)
        if any(name not in {"t", "lang"} for name, _ in query):
            return None
        langs = [value for name, value in query if name == "lang"]
        tokens = [value for name, value in query if name == "t"]
        if path != BATCH:
            if tokens:
                return None
            tokens = [path[len(ONE) :]]
        tokens = list(dict.fromkeys(tokens))
        if not 0 < len(tokens) <= payloads.MAX_TOKENS or any(
            len(token) > payloads.MAX_TOKEN_LENGTH for token in tokens
        ):
            return None
        request = Request(environ)
        request.trusted_hosts = self.config["TRUSTED_HOSTS"]  # as Flask does
        try:
            host_url = request.host_url  # what public_base() sees without PUBLIC_URL
        except SecurityError:
            return None
        base = base_url(self.config["PUBLIC_URL"], host_url)
        found = payloads.cached(self.backend, tokens, langs[0] if langs else None, base)
        if found is None or path != BATCH:
            return found[0] if found else None
        return payloads.batch_of(list(zip(tokens, found, strict=True)), {})
