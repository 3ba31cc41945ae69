"""Well-formed event batches, taken in front of Flask: the server's busiest write.

Of the app's CPU for a ``POST /v1/events``, about two fifths went to Flask's hooks (the
limiter's, the headers'), its response machinery and marshmallow's nested load of ten
events (docs/performance.md). A batch whose JSON has exactly the shape EVENT_BATCH loads
unchanged is taken here instead, inside a request context of its own, through the view's
own code (``readers.take_events``): same budgets, rate limit and storage, and the view's
204 with the headers Flask gives it. Anything else (another path or method, a query
string, a body type, size or shape it is not sure of) goes on to Flask with its body
untouched, so every refusal keeps its exact shape; errors raised while taking a batch are
answered by Flask's own handlers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask.ctx import RequestContext
from werkzeug.http import parse_options_header

from . import inbound
from .api_schemas import EVENT_TYPES
from .cached_reads import StartResponse, WSGIApp
from .headers import SECURITY_HEADERS, page_csp
from .views import readers

PATH = "/v1/events"
# The view's 204, as Flask sends it: an empty text/html body, so headers.py adds the CSP
# of a page that may not be framed; the readers' CORS and no-store headers.
ANSWER = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "Retry-After"),
    ("Cache-Control", "no-store"),
    *SECURITY_HEADERS.items(),
    ("Content-Security-Policy", page_csp("'none'")),
    ("X-Frame-Options", "DENY"),
]
_BATCH_FIELDS = {"page", "referrer", "events"}
_EVENT_FIELDS = {"type", "token", "item"}


class EventIntake:
    """Wrap ``app.wsgi_app``: well-formed event batches taken here, the rest by Flask."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask: WSGIApp = app.wsgi_app
        self.max_bytes = min(readers.MAX_BODY_BYTES, app.config["MAX_CONTENT_LENGTH"])
        self.no_session = app.session_interface.make_null_session(app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = self.plain_batch(environ)
        if body is None:
            return self.flask(environ, start_response)
        # A batch reads no cookie: its context skips opening the session.
        with RequestContext(self.app, environ, session=self.no_session):
            try:
                if not readers.is_crawler(environ.get("HTTP_USER_AGENT", "")):
                    readers.take_events(body)
            except Exception as error:  # noqa: BLE001 - answered as Flask answers a view's
                try:
                    answer = self.app.finalize_request(self.app.handle_user_exception(error))
                except Exception as unhandled:  # noqa: BLE001
                    answer = self.app.handle_exception(unhandled)
                return answer(environ, start_response)
        start_response("204 NO CONTENT", list(ANSWER))
        return []

    def plain_batch(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """Return the batch a request posts when it is one this layer takes; else None,
        with the request's body left for Flask to read."""
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return None
        if environ.get("QUERY_STRING") or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        mimetype = parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()
        length = environ.get("CONTENT_LENGTH", "")
        if mimetype not in readers.BODY_TYPES or not length.isdigit():
            return None
        if not 0 < int(length) <= self.max_bytes:
            return None
        data = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(data)  # for Flask, should it answer after all
        try:
            batch = inbound.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        return batch if loads_unchanged(batch) else None


def loads_unchanged(batch: Any) -> bool:
    """Say whether EVENT_BATCH would load ``batch`` without an error, and as it is
    (its optional fields null or absent: the view reads them alike)."""
    if not isinstance(batch, dict) or not batch.keys() <= _BATCH_FIELDS:
        return False
    page, referrer, events = batch.get("page"), batch.get("referrer"), batch.get("events")
    if not (isinstance(page, str) and len(page) <= 2000):
        return False
    if not (referrer is None or (isinstance(referrer, str) and len(referrer) <= 2000)):
        return False
    if not (isinstance(events, list) and 1 <= len(events) <= 50):
        return False
    return all(_plain_event(event) for event in events)


def _plain_event(event: Any) -> bool:
    if not isinstance(event, dict) or not event.keys() <= _EVENT_FIELDS:
        return False
    token, item = event.get("token"), event.get("item")
    return (
        event.get("type") in EVENT_TYPES
        and isinstance(token, str)
        and len(token) <= 200
        and (item is None or (isinstance(item, str) and len(item) <= 40))
    )
