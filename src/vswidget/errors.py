"""The VSWidgetError family and the one JSON error shape.

The server raises these classes and answers them as
``{"error": {"status", "message", "fields"}}``; the SDK raises the same classes
from that body, so a caller handles an error the same way on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from flask import Flask, Response

FieldErrors = dict[str, list[str]]


class VSWidgetError(Exception):
    """Base of every error vswidget raises; carries an HTTP status and field errors."""

    status: int = 500
    default_message: ClassVar[str] = "Something went wrong on the vswidget server."

    def __init__(
        self,
        message: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.fields: FieldErrors = dict(fields or {})
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body."""
        return {"error": {"status": self.status, "message": self.message, "fields": self.fields}}


class BadRequest(VSWidgetError):
    status = 400
    default_message = "The request could not be read."


class AuthenticationError(VSWidgetError):
    status = 401
    default_message = "A valid API key is required: send 'Authorization: Bearer API_KEY'."


class Forbidden(VSWidgetError):
    status = 403
    default_message = "This is not allowed."


class NotFound(VSWidgetError):
    status = 404
    default_message = "Nothing exists at this address."


class MethodNotAllowed(VSWidgetError):
    status = 405
    default_message = "This method is not allowed here."


class Conflict(VSWidgetError):
    status = 409
    default_message = "This conflicts with what is stored."


class PreconditionFailed(VSWidgetError):
    status = 412
    default_message = "The comparison changed since you read it; fetch it again and retry."


class PayloadTooLarge(VSWidgetError):
    status = 413
    default_message = "The request body is too large."


class UnsupportedMediaType(VSWidgetError):
    status = 415
    default_message = "Send the body as JSON with 'Content-Type: application/json'."


class ValidationError(VSWidgetError):
    status = 422
    default_message = "The document is not valid."


class RateLimited(VSWidgetError):
    status = 429
    default_message = "Too many requests; slow down and retry later."


class ServerError(VSWidgetError):
    status = 500


class NotSupported(VSWidgetError):
    status = 501
    default_message = "This is not supported."


class ConfigurationError(VSWidgetError):
    """A setting has a value vswidget cannot use."""

    default_message = "A setting has a value that cannot be used."


class ConnectionFailed(VSWidgetError):
    """The SDK could not reach the server or it did not answer in time."""

    status = 0
    default_message = "Could not reach the vswidget server."


_BY_STATUS: dict[int, type[VSWidgetError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        AuthenticationError,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationError,
        RateLimited,
        NotSupported,
    )
}


def error_for_status(status: int) -> type[VSWidgetError]:
    """Return the error class that stands for an HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else BadRequest


def flatten_messages(messages: Any, prefix: str = "") -> FieldErrors:
    """Turn marshmallow's nested messages into ``{"items.2.url": [...]}``."""
    if isinstance(messages, Mapping):
        flat: FieldErrors = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "_schema"
            for field, errors in flatten_messages(value, name).items():
                flat.setdefault(field, []).extend(errors)
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    return {prefix or "_schema": [str(messages)]}


UNKNOWN_FIELD = "unknown field"
"""How the schemas begin the error of a field they do not know; such a field is named first."""


def causes_first(fields: Mapping[str, list[str]]) -> FieldErrors:
    """Return field errors with unknown fields first: a misspelt name is the cause of the rest."""
    return dict(
        sorted(
            fields.items(),
            key=lambda entry: not any(e.startswith(UNKNOWN_FIELD) for e in entry[1]),
        )
    )


def describe(fields: Mapping[str, list[str]]) -> str:
    """Return the first field's first error, then the names of the other bad fields."""
    (field, errors), *others = fields.items()
    where = "" if field == "_schema" else f"{field}: "
    if not others:
        return f"{where}{errors[0]}"
    names = [name for name, _ in others]
    listed = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    plural = "s" if len(names) > 1 else ""
    return f"{where}{errors[0]} (and {len(names)} more field{plural}: {listed})"


def validation_error(messages: Any, what: str = "document") -> ValidationError:
    """Return a ValidationError whose message names the cause: an unknown field, else the first."""
    fields = causes_first(flatten_messages(messages))
    return ValidationError(f"The {what} is not valid: {describe(fields)}", fields)


def init_app(app: Flask) -> None:
    """Answer every error, ours, HTTP or unexpected, with the one JSON shape."""
    from flask import jsonify
    from werkzeug.exceptions import HTTPException, InternalServerError

    def respond(error: VSWidgetError) -> Response:
        response = jsonify(error.to_dict())
        response.status_code = error.status
        response.headers.update(error.headers)
        return response

    def from_http(exc: HTTPException) -> Response:
        data = getattr(exc, "data", None) or {}
        if exc.code == 400 and "messages" in data:  # webargs could not parse the JSON
            error: VSWidgetError = BadRequest("The body is not valid JSON.")
        elif "messages" in data:  # a webargs/marshmallow validation failure
            messages = data["messages"]
            for location in ("json", "query", "headers"):
                messages = messages.get(location, messages)
            error = validation_error(messages, _subject())
        else:
            code = exc.code or 500
            cls = error_for_status(code)
            known = code in _BY_STATUS
            error = cls(data.get("message") or (cls.default_message if known else _describe(exc)))
            error.status = code
        headers = data.get("headers") or {}
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers = {"Allow": ", ".join(exc.valid_methods)}  # type: ignore[attr-defined]
        error.headers.update(headers)
        return respond(error)

    def unexpected(exc: InternalServerError) -> Response:
        app.logger.error("unhandled error", exc_info=exc.original_exception or exc)
        return respond(ServerError())

    app.register_error_handler(VSWidgetError, respond)
    app.register_error_handler(HTTPException, from_http)
    app.register_error_handler(InternalServerError, unexpected)


def _subject() -> str:
    from flask import request

    writes = request.method in {"POST", "PUT"}
    return "document" if writes and request.path.startswith("/api/v1/comparisons") else "request"


def _describe(exc: Exception) -> str:
    description = getattr(exc, "description", None) or str(exc)
    return description.strip().split("\n")[0]
