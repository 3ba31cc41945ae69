"""Bad input gets a 4xx with one JSON shape, and nothing stored changes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from vswidget.server import store

API = "/api/v1/comparisons"
SLUG = "kettle-vs-moka-pot"


def stored_text(app: Flask) -> str:
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), SLUG)
        return comparison.document + f"|v{comparison.version}|{comparison.updated_at}"


@pytest.fixture
def published(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> str:
    assert client.post(API, json=document, headers=auth).status_code == 201
    return stored_text(app)


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error: dict[str, Any] = response.json["error"]
    assert set(error) == {"status", "message", "fields"}
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_malformed_json_answers_400(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str
) -> None:
    response = client.put(
        f"{API}/{SLUG}",
        data='{"slug": "kettle',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert assert_error_shape(response, 400)["message"] == "The body is not valid JSON."
    assert stored_text(app) == published


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_answers_415(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str, content_type: str | None
) -> None:
    headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
    response = client.put(f"{API}/{SLUG}", data="slug=x", headers=headers)
    assert "application/json" in assert_error_shape(response, 415)["message"]
    assert stored_text(app) == published


def test_a_body_over_the_limit_answers_413(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str, document: dict[str, Any]
) -> None:
    document["items"][0]["description"] = "x" * (app.config["MAX_BODY_BYTES"] + 1)
    response = client.put(f"{API}/{SLUG}", json=document, headers=auth)
    assert_error_shape(response, 413)
    assert stored_text(app) == published


def test_an_invalid_document_answers_422_naming_the_field(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str, document: dict[str, Any]
) -> None:
    document["items"][1]["url"] = "javascript:alert(1)"
    response = client.put(f"{API}/{SLUG}", json=document, headers=auth)
    error = assert_error_shape(response, 422)
    assert error["fields"] == {"items.1.url": ["Must be an http:// or https:// URL."]}
    assert (
        error["message"]
        == "The document is not valid: items.1.url: Must be an http:// or https:// URL."
    )
    assert stored_text(app) == published


def test_a_misspelt_field_answers_422_naming_it_first_with_the_one_meant(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str, document: dict[str, Any]
) -> None:
    document["titel"] = document.pop("title")
    response = client.put(f"{API}/{SLUG}", json=document, headers=auth)
    error = assert_error_shape(response, 422)
    assert error["message"] == (
        'The document is not valid: titel: unknown field; did you mean "title"? '
        "(and 1 more field: title)"
    )
    assert error["fields"] == {
        "titel": ['unknown field; did you mean "title"?'],
        "title": ["Missing data for required field."],
    }
    assert stored_text(app) == published


def test_a_wrong_type_answers_422_naming_the_type_expected_and_found(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str, document: dict[str, Any]
) -> None:
    document["items"][0]["price"] = 9
    response = client.put(f"{API}/{SLUG}", json=document, headers=auth)
    assert assert_error_shape(response, 422)["message"] == (
        "The document is not valid: items.0.price: expected a string, found a number (9)"
    )
    assert stored_text(app) == published


@pytest.mark.parametrize("body", ["[]", "null", '"text"', "42"])
def test_json_that_is_not_an_object_answers_422(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str, body: str
) -> None:
    response = client.put(
        f"{API}/{SLUG}", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert assert_error_shape(response, 422)["fields"]
    assert stored_text(app) == published


def test_invalid_utf8_answers_4xx(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: str
) -> None:
    response = client.put(
        f"{API}/{SLUG}",
        data=b'{"slug": "\xff\xfe"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_error_shape(response, 400)
    assert stored_text(app) == published


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("PATCH", f"{API}/{SLUG}", 405),
        ("GET", f"{API}/NOT A SLUG", 404),
    ],
)
def test_routing_errors_have_the_same_shape(
    client: FlaskClient, auth: dict[str, str], method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, headers=auth)
    assert_error_shape(response, status)


def test_a_405_says_which_methods_are_allowed(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.patch(f"{API}/{SLUG}", headers=auth)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


def test_an_unexpected_failure_answers_500_without_details(app: Flask, client: FlaskClient) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.testing = False  # let the app handle it as in production
    response = client.get("/boom")
    error = assert_error_shape(response, 500)
    assert "secret" not in error["message"]
