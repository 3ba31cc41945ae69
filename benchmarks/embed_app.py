"""The WSGI apps benchmarks/embed.py and peers.py serve: vswidget, and a minimal baseline.

Each runs in a gunicorn of its own, with the same settings:

- ``embed_app:make_application()``: vswidget's app, built the way `vswidget serve` builds
  it in each worker;
- ``embed_app:baseline_app()``: a minimal Flask app, ``/ping`` answering a small constant
  JSON dict and ``/blob?n=N`` a constant body of N bytes. Nothing of vswidget is imported
  in its processes, so none of vswidget's costs are in its figures.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

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


def make_application() -> Flask:
    """Return vswidget's app as `vswidget serve` loads it in a worker (with what runs beside it).

    gunicorn calls it in each worker (`embed_app:make_application()`), so importing this
    module builds nothing and starts nothing. ``Server.load`` reads no gunicorn setting, so
    an unconfigured instance can call it.
    """
    from vswidget.server.serving import Server

    app: Flask = Server.__new__(Server).load()
    return app
