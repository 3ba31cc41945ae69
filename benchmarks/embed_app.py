"""The WSGI app benchmarks/embed.py serves: vswidget and a minimal baseline, in one process.

gunicorn serves ``embed_app:make_application()``.

``/baseline/ping`` is a minimal Flask app answering a small constant JSON dict, and
``/baseline/blob?n=N`` a constant body of N bytes; every other path goes to vswidget's
app, built the way `vswidget serve` builds it in each worker. Both run in the same
gunicorn workers with the same settings, so their requests per second compare side by
side.

``EMBED_BENCH_VARIANT`` (used by profile_payload.py only) changes vswidget's app to show
what a change in src/ would gain; the default, ``as-is``, leaves it exactly as shipped:

- ``get-filter``: a Flask-Limiter request filter that skips GET, HEAD and OPTIONS;
- ``no-limiter``: Flask-Limiter's app-wide request hooks removed (the reader POST routes
  lose their limits: a measurement of the hooks' cost, not a proposal);
- ``fast-path``: a WSGI layer in front of Flask answers ``GET /v1/payload/TOKEN`` cache
  hits itself (200 or 304, the same headers), as sketched in ``FastPayloads``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from vswidget.extensions import cache, limiter
from vswidget.headers import PUBLIC_CACHE
from vswidget.server import Server

BASELINE = {"status": "ok", "service": "baseline", "version": 1}
MAX_BLOB = 1 << 20
VARIANTS = ("as-is", "get-filter", "no-limiter", "fast-path")


def baseline_app() -> Flask:
    """Return the minimal Flask app: a small JSON answer, and a big one of a given size."""
    app = Flask("baseline")
    blobs: dict[int, bytes] = {}

    @app.get("/ping")
    def ping() -> dict[str, Any]:
        return BASELINE

    @app.get("/blob")
    def blob() -> Response:
        """A constant JSON document of ``?n=`` bytes: what a body that big costs by itself."""
        size = max(12, min(MAX_BLOB, request.args.get("n", 12, type=int)))
        if size not in blobs:
            blobs[size] = b'{"data":"' + b"x" * (size - 11) + b'"}'
        return Response(blobs[size], mimetype="application/json")

    return app


def product_app() -> Flask:
    """Return vswidget's app as `vswidget serve` loads it in a worker (with what runs beside it).

    ``Server.load`` reads no gunicorn setting, so an unconfigured instance can call it.
    """
    app: Flask = Server.__new__(Server).load()
    return app


StartResponse = Callable[..., Any]


class FastPayloads:
    """A sketch: answer ``GET /v1/payload/TOKEN`` cache hits before Flask, misses go on.

    Same status, body and headers as the Flask view (ETag, Cache-Control, CORS, nosniff,
    Referrer-Policy; 304 for a matching If-None-Match), without a request context, URL
    routing, Flask-Limiter's hooks or werkzeug's Response and conditional machinery.
    """

    PREFIX = "/v1/payload/"

    def __init__(self, app: Flask) -> None:
        self.next = app.wsgi_app
        self.backend = app.extensions["cache"][cache]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and path.startswith(self.PREFIX)
            and not environ.get("QUERY_STRING")
        ):
            cached = self.backend.get(f"payload:{path[len(self.PREFIX) :]}:")
            if cached is not None:
                text, etag = cached
                quoted = f'"{etag}"'
                headers = [
                    ("ETag", quoted),
                    ("Cache-Control", PUBLIC_CACHE),
                    ("Access-Control-Allow-Origin", "*"),
                    ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "strict-origin-when-cross-origin"),
                ]
                if quoted in environ.get("HTTP_IF_NONE_MATCH", ""):
                    start_response("304 NOT MODIFIED", headers)
                    return []
                body = text.encode()
                length = ("Content-Length", str(len(body)))
                start_response("200 OK", [("Content-Type", "application/json"), length, *headers])
                return [body]
        result: Iterable[bytes] = self.next(environ, start_response)
        return result


def vary(app: Flask, variant: str) -> Flask:
    """Apply one of VARIANTS to vswidget's app (see the module docstring)."""
    if variant not in VARIANTS:
        raise ValueError(f"EMBED_BENCH_VARIANT must be one of {', '.join(VARIANTS)}")
    if variant == "get-filter":
        limiter.request_filter(lambda: request.method in {"GET", "HEAD", "OPTIONS"})
    elif variant == "no-limiter":
        for hooks in (app.before_request_funcs, app.after_request_funcs):
            hooks[None] = [f for f in hooks.get(None, []) if "Limiter" not in repr(f)]
        app.teardown_request_funcs[None] = [
            f for f in app.teardown_request_funcs.get(None, []) if "Limiter" not in repr(f)
        ]
    elif variant == "fast-path":
        app.wsgi_app = FastPayloads(app)  # type: ignore[method-assign]
    return app


def make_application(variant: str | None = None) -> DispatcherMiddleware:
    """Return the WSGI app: vswidget (as the variant says) and the baseline under /baseline.

    gunicorn calls it in each worker (`embed_app:make_application()`), so importing this
    module builds nothing and starts nothing.
    """
    variant = variant or os.environ.get("EMBED_BENCH_VARIANT", "as-is")
    return DispatcherMiddleware(vary(product_app(), variant), {"/baseline": baseline_app()})
