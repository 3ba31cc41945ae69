"""The scripts host pages load, compressed once per process and sent gzipped when asked."""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path
from typing import NamedTuple

from flask import Response, request

from .headers import accepts_gzip

STATIC = Path(__file__).with_name("static")


class Compressed(NamedTuple):
    raw: bytes
    gzip: bytes
    etag: str


@functools.cache
def _read(name: str) -> Compressed:
    raw = (STATIC / name).read_bytes()
    return Compressed(raw, gzip.compress(raw, 9, mtime=0), hashlib.sha256(raw).hexdigest()[:20])


def send(name: str, accept_encoding: str | None) -> Response:
    """Return a static script, gzipped when the request accepts it, with an ETag."""
    found = _read(name)
    zipped = accepts_gzip(accept_encoding)
    response = Response(found.gzip if zipped else found.raw, mimetype="text/javascript")
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(found.etag)
    response.make_conditional(request)
    return response
