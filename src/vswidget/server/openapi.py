"""The public API in the OpenAPI document, generated from the schemas.

flask-smorest documents the publisher API from its own decorators. The public
reads (payloads, oEmbed) and the readers' posts (votes, sign-ups, events) are
plain Flask views, so that their CORS, caching and ``text/plain`` bodies stay
exactly as browsers need them; this module adds them to the same document,
from the same marshmallow schemas, without wrapping the views.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from flask import Flask
from marshmallow import Schema, fields, validate
from werkzeug.routing import Rule

from .api_schemas import (
    ErrorSchema,
    EventBatchSchema,
    OEmbedSchema,
    PayloadBatchSchema,
    PayloadSchema,
    SignupResultSchema,
    SignupSchema,
    VoteResultSchema,
    VoteSchema,
)
from .i18n import LABELS
from .payloads import MAX_TOKEN_LENGTH, MAX_TOKENS

ERROR = {"$ref": "#/components/responses/DEFAULT_ERROR"}
PUBLIC = "public"
READERS = "readers"


class LanguageQuerySchema(Schema):
    lang = fields.String(
        metadata={
            "description": "Language of the widget's words, "
            f"one of {', '.join(LABELS)}; default: the comparison's own."
        }
    )


class PayloadsQuerySchema(LanguageQuerySchema):
    t = fields.List(
        fields.String(validate=validate.Length(max=MAX_TOKEN_LENGTH)),
        required=True,
        validate=validate.Length(min=1, max=MAX_TOKENS),
        metadata={"description": "Embed tokens, one per widget of the page."},
    )


class OEmbedQuerySchema(Schema):
    url = fields.String(
        required=True,
        metadata={"description": "A canonical page /c/PUBLISHER/SLUG or iframe form /embed/TOKEN."},
    )
    format = fields.String(
        load_default="json", validate=validate.OneOf(["json"]), metadata={"description": "json"}
    )
    maxwidth = fields.Integer(validate=validate.Range(min=1))
    maxheight = fields.Integer(validate=validate.Range(min=1))


def _answer(schema: type[Schema], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _posted(schema: type[Schema]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


CACHED = "Cacheable: an ETag and Cache-Control: public; CORS open to every origin, no credentials."
CORS_SIMPLE = (
    "Readers' browsers send the JSON body as Content-Type text/plain (a CORS-simple request, "
    "as sendBeacon does); application/json is accepted too. Limited per reader address: "
    "over the limit, 429 with Retry-After. Answers are never cached."
)


def document_public_api(app: Flask, spec: APISpec) -> None:
    """Add the public reads and the readers' posts to the OpenAPI document.

    Each path comes from the view's own URL rule, so the document follows the routes.
    """

    def rule(endpoint: str) -> Rule:
        return next(app.url_map.iter_rules(endpoint))

    spec.tag({"name": PUBLIC, "description": "What widgets read, without credentials."})
    spec.tag({"name": READERS, "description": "What readers send: votes, sign-ups, events."})
    reads: dict[str, tuple[str, str, type[Schema], type[Schema]]] = {
        "public.payload": ("One widget's payload.", "", LanguageQuerySchema, PayloadSchema),
        "public.payload_batch": (
            "The payloads of every widget on a page, in one answer.",
            " A token with no payload is named under errors.",
            PayloadsQuerySchema,
            PayloadBatchSchema,
        ),
        "public.oembed": (
            "oEmbed for a canonical or iframe URL: one iframe, with its size.",
            " A format other than json answers 501, as oEmbed 1.0 asks.",
            OEmbedQuerySchema,
            OEmbedSchema,
        ),
    }
    for endpoint, (summary, more, query, result) in reads.items():
        responses: dict[str, Any] = {"200": _answer(result, "OK"), "default": ERROR}
        if endpoint == "public.oembed":
            responses["501"] = _answer(ErrorSchema, "A format other than json.")
        spec.path(
            rule=rule(endpoint),
            operations={
                "get": {
                    "security": [],
                    "tags": [PUBLIC],
                    "summary": summary,
                    "description": CACHED + more,
                    "parameters": [{"in": "query", "schema": query}],
                    "responses": responses,
                }
            },
        )
    posts = {
        "readers.vote": (VoteSchema, "Count a reader's vote, or move it.", VoteResultSchema),
        "readers.signup": (SignupSchema, "Sign a reader up, with consent.", SignupResultSchema),
        "readers.events": (EventBatchSchema, "Store a batch of widget events.", None),
    }
    for endpoint, (body, summary, stored) in posts.items():
        answer = (
            {"204": {"description": "Stored."}}
            if stored is None
            else {"200": _answer(stored, "OK")}
        )
        spec.path(
            rule=rule(endpoint),
            operations={
                "post": {
                    "security": [],
                    "tags": [READERS],
                    "summary": summary,
                    "description": CORS_SIMPLE,
                    "requestBody": _posted(body),
                    "responses": {**answer, "default": ERROR},
                }
            },
        )
