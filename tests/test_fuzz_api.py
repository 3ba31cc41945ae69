"""Generated requests against the OpenAPI document: no 5xx, and every answer as documented.

schemathesis reads ``/api/v1/openapi.json`` (the publisher API and the public API)
and generates requests from it, valid ones and ones that break the schema, sent to
the app in-process through WSGI with a real API key. Half the generated cases name
things that exist (the seeded comparison's slug, embed token and vote ticket), so the
answers checked are not only 404s. Every answer must be a non-5xx (oEmbed's
documented 501 for a format other than json aside) whose status code, content
type and body the document describes.

Bounded: a fixed number of cases per operation and generation mode, derandomized so
that every run sends the same requests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from helpers import DOCUMENT, PUBLIC_URL, empty_database, make_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from vswidget.server import store
from vswidget.server.extensions import db

# Cases per operation and generation mode on each backend: about 1,100 on SQLite, 850
# more on PostgreSQL, which refuses what SQLite takes (NUL characters, 64-bit overflow).
CASES = {
    "sqlite": {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 20},
    "postgresql": {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 15},
}
MINIMUM = {"sqlite": 1000, "postgresql": 800}
GENEROUS = {
    "VOTE_RATE_LIMIT": "1000000/minute",
    "SIGNUP_RATE_LIMIT": "1000000/minute",
    "EVENT_RATE_LIMIT": "1000000/minute",
    "AUTH_FAILURE_RATE_LIMIT": "1000000/minute",
}


@dataclass
class Target:
    """The app under test, its publisher's key and what exists in it."""

    backend: str
    app: Flask
    key: str
    slug: str = DOCUMENT["slug"]
    token: str = ""
    ticket: str = ""

    def seed(self) -> None:
        """Publish the seeded comparison (again, if a generated DELETE removed it)."""
        client = self.app.test_client()
        headers = {"Authorization": f"Bearer {self.key}"}
        client.put(
            f"/api/v1/comparisons/{self.slug}", json=copy.deepcopy(DOCUMENT), headers=headers
        )
        embed = client.get(f"/api/v1/comparisons/{self.slug}/embed", headers=headers).json
        assert embed is not None
        self.token = embed["token"]
        self.ticket = client.get(f"/v1/payload/{self.token}").json["ticket"]  # type: ignore[index]

    def aim(self, case: Case) -> None:
        """Make a generated case name what exists and pass the checks across fields.

        What schemathesis cannot know from the document alone: which slug, token,
        ticket and item keys exist, that a reviewer's verdicts name the items, that
        events come from an http(s) page. Every other field stays as generated.
        """
        path, query, body = case.path_parameters or {}, case.query, case.body
        if "slug" in path:
            path["slug"] = self.slug
        if "token" in path:
            path["token"] = self.token
        if case.operation.path == "/v1/payloads" and isinstance(query, dict):
            query["t"] = [self.token, *list(query.get("t") or [])[:3]]
        if case.operation.path == "/oembed" and isinstance(query, dict):
            query["url"] = f"{PUBLIC_URL}/c/acme/{self.slug}"
        if not isinstance(body, dict):
            return
        if "ticket" in body:
            body["ticket"] = self.ticket
        if case.operation.path == "/v1/votes":
            body["item"] = DOCUMENT["items"][len(str(body.get("item"))) % 2]["key"]
        if case.operation.path == "/v1/signups":
            body.update(email="reader@example.com", consent=True)
        if case.operation.path == "/v1/events":
            body["page"] = "https://blog.example/post"
            for event in body.get("events") or []:
                if isinstance(event, dict):
                    event["token"] = self.token
        if isinstance(body.get("items"), list):
            self._aim_document(case, body)

    def _aim_document(self, case: Case, body: dict[str, Any]) -> None:
        if case.method == "PUT":
            body["slug"] = self.slug
        items = [item for item in body["items"] if isinstance(item, dict)]
        for index, item in enumerate(items):
            item["key"] = f"item-{index}"
        for reviewer in body.get("panel") or []:
            if isinstance(reviewer, dict) and isinstance(reviewer.get("verdicts"), dict):
                given = list(reviewer["verdicts"].values()) or [{"verdict": "ship"}]
                reviewer["verdicts"] = {
                    item["key"]: given[index % len(given)] for index, item in enumerate(items)
                }


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """An app with one publisher and the seeded comparison, for the whole module."""
    folder = tmp_path_factory.mktemp("fuzz")
    app = make_app(empty_database(request, folder), folder, **GENEROUS)
    with app.app_context():
        _, key = store.create_publisher("acme")
    target = Target(request.param, app, key)
    target.seed()
    yield target
    db.dispose(app)


def no_server_error(ctx: Any, response: Any, case: Case) -> None:
    """No 5xx, but for oEmbed's 501, which the oEmbed spec asks for an unknown format."""
    documented = response.status_code == 501 and case.operation.path == "/oembed"
    assert response.status_code < 500 or documented, (
        f"{response.status_code} for {case.as_curl_command()}\n{response.text[:500]}"
    )


CHECKS: list[Callable[..., Any]] = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(target: Target, operation: APIOperation, mode: GenerationMode) -> int:
    """Send generated cases to one operation; return how many were sent."""
    # identity: the in-process transport does not undo a gzip Content-Encoding.
    headers = {"Authorization": f"Bearer {target.key}", "Accept-Encoding": "identity"}
    sent = 0

    @settings(
        max_examples=CASES[target.backend][mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), aimed=st.booleans())
    def run(case: Case, aimed: bool) -> None:
        nonlocal sent
        sent += 1
        if aimed:
            target.aim(case)
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if case.method == "DELETE" and response.status_code < 300:
            target.seed()

    run()
    return sent


def test_generated_requests_get_no_5xx_and_documented_answers(target: Target) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", target.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/comparisons", "/v1/payloads", "/v1/votes"}
    sent: dict[str, int] = {}
    failures: list[str] = []
    for operation in operations:
        for mode in CASES[target.backend]:
            try:
                sent[f"{operation.label} {mode.value}"] = fuzz(target, operation, mode)
            except Exception as failure:  # noqa: BLE001 - every operation is tried, then reported
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert failures == []
    assert sum(sent.values()) >= MINIMUM[target.backend], sent
