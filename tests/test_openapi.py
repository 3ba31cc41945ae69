"""The OpenAPI document is generated from the schemas and is valid OpenAPI 3."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


def test_the_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_publisher_endpoint_is_described(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) == {
        "/api/v1/comparisons",
        "/api/v1/comparisons/{slug}",
        "/api/v1/comparisons/{slug}/embed",
        "/api/v1/comparisons/{slug}/signups",
        "/api/v1/comparisons/{slug}/stats",
        "/api/v1/signups",
        "/api/v1/signups/{email}",
        "/api/v1/webhook",
    }
    assert set(spec["paths"]["/api/v1/comparisons/{slug}"]) >= {"get", "put", "delete"}


def test_computed_fields_are_read_only(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["Item"]["properties"]["panel_ship"]["readOnly"] is True
    assert schemas["Comparison"]["properties"]["votes"]["readOnly"] is True
    assert "readOnly" not in schemas["Item"]["properties"]["name"]


def test_limits_come_from_the_schema(spec: dict[str, Any]) -> None:
    item = spec["components"]["schemas"]["Item"]
    assert item["properties"]["description"]["maxLength"] == 2000
    comparison = spec["components"]["schemas"]["Comparison"]
    assert comparison["properties"]["items"]["minItems"] == 2
    assert comparison["properties"]["items"]["maxItems"] == 4
    assert comparison["properties"]["slug"]["pattern"] == "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"


def test_the_api_key_scheme_is_bearer(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["apiKey"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"apiKey": []}]


def test_errors_are_documented_with_the_one_error_shape(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error"}
