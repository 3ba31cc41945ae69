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


PUBLIC_PATHS = {"/v1/payload/{token}", "/v1/payloads", "/oembed"}
READER_PATHS = {"/v1/votes", "/v1/signups", "/v1/events"}


def test_every_publisher_endpoint_is_described(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) - PUBLIC_PATHS - READER_PATHS == {
        "/api/v1/comparisons",
        "/api/v1/comparisons/{slug}",
        "/api/v1/comparisons/{slug}/embed",
        "/api/v1/comparisons/{slug}/signups",
        "/api/v1/comparisons/{slug}/stats",
        "/api/v1/comparisons/{slug}/stats/live",
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


def test_the_public_api_is_described_and_needs_no_key(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) >= PUBLIC_PATHS | READER_PATHS
    for path in PUBLIC_PATHS:
        assert spec["paths"][path]["get"]["security"] == []
    for path in READER_PATHS:
        post = spec["paths"][path]["post"]
        assert post["security"] == []
        assert "text/plain" in post["description"]


def test_the_public_api_is_generated_from_the_schemas(spec: dict[str, Any]) -> None:
    ok = spec["paths"]["/v1/payload/{token}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Payload"}
    payload = spec["components"]["schemas"]["Payload"]["properties"]
    assert payload["items"]["items"] == {"$ref": "#/components/schemas/Item"}
    assert payload["ticket"]["readOnly"] is True
    vote = spec["paths"]["/v1/votes"]["post"]["requestBody"]["content"]["application/json"]
    assert vote["schema"] == {"$ref": "#/components/schemas/Vote"}
    batch = spec["paths"]["/v1/payloads"]["get"]["parameters"]
    assert {p["name"]: p["schema"].get("maxItems") for p in batch}["t"] == 20


def test_days_are_documented_as_written_yyyy_mm_dd_only(spec: dict[str, Any]) -> None:
    stats = spec["paths"]["/api/v1/comparisons/{slug}/stats"]["get"]["parameters"]
    days = {parameter["name"]: parameter["schema"] for parameter in stats}
    for name in ("since", "until"):
        assert days[name]["format"] == "date"
        assert days[name]["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
