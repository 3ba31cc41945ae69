"""What comes in from outside, refused early when no field could hold it.

JSON nested deeper than Python's stack, strings that are not Unicode (a lone
surrogate such as ``"\\ud800"`` is valid JSON but cannot be encoded, stored or
sent), and NUL characters (PostgreSQL refuses them in text; no field needs one) in
JSON, URLs and forms get a 400 in the one error shape, before a view or the
database sees them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Request, request
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestURITooLarge

from ..errors import BadRequest

# NUL: PostgreSQL refuses it in text; lone surrogates: not Unicode, cannot be encoded.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The longest query string read, in bytes: a page's 20 embed tokens take about 1,500.
# gunicorn refuses a request line over 4,094 bytes before this; other servers may not.
MAX_QUERY_BYTES = 8192
NOT_JSON = "The body is not valid JSON."


class Unreadable(ValueError):
    """JSON that parses, but that no field could hold; its message says why."""


def loads(data: str | bytes) -> Any:
    """Parse a JSON body; ValueError when it is not JSON, too deep, or not Unicode."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise Unreadable("The body nests JSON too deeply.") from None
    if _plainly_storable(data):
        return value
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                raise Unreadable(
                    "The body holds a NUL character or a lone surrogate, which no field accepts."
                )
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


def _plainly_storable(data: str | bytes) -> bool:
    """Say whether JSON text can hold no NUL and no lone surrogate, without walking it.

    ASCII text with neither a NUL nor an escape ``\\u`` is UTF-8 JSON whose strings can
    hold neither: the walk is skipped for the widget's bodies, which are such text.
    """
    if isinstance(data, bytes):
        return data.isascii() and b"\x00" not in data and b"\\u" not in data
    return data.isascii() and "\x00" not in data and "\\u" not in data


class JSONBodyParser(FlaskParser):
    """webargs' parser for flask-smorest, reading JSON bodies with ``loads``."""

    def _raw_load_json(self, req: Request) -> Any:
        if not req.get_data(cache=True):
            return super()._raw_load_json(req)
        try:
            return loads(req.get_data(cache=True))
        except Unreadable as error:
            raise BadRequest(str(error)) from None
        except ValueError:  # UnicodeDecodeError too: bytes that are not UTF-8
            raise BadRequest(NOT_JSON) from None


def init_app(app: Flask) -> None:
    """Refuse a query string too long to be ours, and NUL in the URL or a form (414, 400)."""

    @app.before_request
    def refuse_unreadable() -> None:
        if len(request.query_string) > MAX_QUERY_BYTES:
            raise RequestURITooLarge(f"The query string is over {MAX_QUERY_BYTES} bytes.")
        values = [request.path, *(k + v for k, v in request.args.items(multi=True))]
        if request.mimetype == "application/x-www-form-urlencoded":
            values.extend(k + v for k, v in request.form.items(multi=True))
        if any("\x00" in value for value in values):
            raise BadRequest("The request holds a NUL character, which no field accepts.")
