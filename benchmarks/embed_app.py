"""The WSGI app benchmarks/embed.py serves: vswidget and a minimal baseline, in one process.

gunicorn serves ``embed_app:make_application()``.

``/baseline/ping`` is a minimal Flask app answering a small constant JSON dict, and
``/baseline/blob?n=N`` a constant body of N bytes; every other path goes to vswidget's
app, built the way `vswidget serve` builds it in each worker. Both run in the same
gunicorn workers with the same settings, so their requests per second compare side by
side.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from vswidget.server.serving import Server

BASELINE = {"status": "ok", "service": "baseline", "version": 1}
MAX_BLOB = 1 << 20


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


def make_application() -> DispatcherMiddleware:
    """Return the WSGI app: vswidget as shipped, and the baseline under /baseline.

    gunicorn calls it in each worker (`embed_app:make_application()`), so importing this
    module builds nothing and starts nothing.
    """
    return DispatcherMiddleware(product_app(), {"/baseline": baseline_app()})
