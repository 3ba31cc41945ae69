"""The Python SDK: objects that mirror the document, and a Client with typed errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vswidget import (
    AuthenticationError,
    Client,
    Comparison,
    ConnectionFailed,
    Item,
    Newsletter,
    NotFound,
    PreconditionFailed,
    Reviewer,
    ValidationError,
    Verdict,
    VSWidgetError,
)


def kettle_vs_moka() -> Comparison:
    """The conftest document, built in Python."""
    return Comparison(
        slug="kettle-vs-moka-pot",
        kicker="Kitchen gear",
        title="Electric Kettle vs Moka Pot",
        question="Which one should make your morning coffee?",
        items=[
            Item(
                key="kettle",
                name="Electric Kettle",
                category="Appliances",
                tagline="Boiling water in three minutes, pour-over ready",
                description="A gooseneck kettle with temperature control.",
                price="$45",
                url="https://example.com/kettle",
            ),
            Item(
                key="moka",
                name="Moka Pot",
                category="Stovetop",
                tagline="Strong coffee from a stovetop classic",
                price="$30",
                url="https://example.com/moka",
            ),
        ],
        panel=[
            Reviewer(
                "The Barista",
                lens="Taste in the cup",
                verdicts={
                    "kettle": Verdict.ship("Control over every variable."),
                    "moka": Verdict.skip("Bitter unless you watch it."),
                },
            ),
            Reviewer(
                "The Commuter",
                lens="Minutes before the train",
                verdicts={
                    "kettle": Verdict.ship("Fast and hands-off."),
                    "moka": Verdict.ship("One pot, no filters."),
                },
            ),
        ],
        cta=Newsletter("Gear, compared", text="One verdict a week."),
    )


def test_a_comparison_built_in_python_equals_the_same_one_loaded_from_yaml(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    path = tmp_path / "kettle.yaml"
    path.write_text(yaml.safe_dump(document))
    assert Comparison.from_file(path) == kettle_vs_moka()


def test_to_dict_gives_the_document_back(document: dict[str, Any]) -> None:
    assert (
        Comparison.from_dict(document).to_dict()
        == Comparison.from_dict(kettle_vs_moka().to_dict()).to_dict()
    )
    assert Comparison.from_dict(yaml.safe_load(kettle_vs_moka().to_yaml())) == kettle_vs_moka()


def test_json_files_load_too(tmp_path: Path, document: dict[str, Any]) -> None:
    import json

    path = tmp_path / "kettle.json"
    path.write_text(json.dumps(document))
    assert Comparison.from_file(path) == kettle_vs_moka()


def test_validate_gives_the_servers_errors_offline() -> None:
    comparison = kettle_vs_moka()
    comparison.items[1].url = "javascript:alert(1)"
    comparison.panel[0].verdicts["moka"] = Verdict("maybe")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as caught:
        comparison.validate()
    assert caught.value.fields == {
        "items.1.url": ["Must be an http:// or https:// URL."],
        "panel.0.verdicts.moka.verdict": ["Must be 'ship' or 'skip'."],
    }


TYPO = """\
slug: kettle-vs-moka-pot
titel: Kettle vs Moka
items:
  - {key: kettle, name: Kettle}
  - {key: moka, name: Moka}
"""


def refusal_of(path: Path, text: str) -> str:
    """Return the message of the ValidationError that reading ``text`` from ``path`` raises."""
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        Comparison.from_file(path)
    return caught.value.message


def test_a_bad_file_names_the_file_line_column_and_field(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    document["items"][0]["url"] = "data:text/html,hi"
    text = yaml.safe_dump(document, sort_keys=False)
    line = text.splitlines().index("  url: data:text/html,hi") + 1
    path = tmp_path / "bad.yaml"
    assert refusal_of(path, text) == (
        f"{path}:{line}:3: items.0.url: Must be an http:// or https:// URL."
    )


def test_a_misspelt_field_is_reported_first_with_the_one_meant(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    assert refusal_of(path, TYPO) == (
        f'{path}:2:1: titel: unknown field; did you mean "title"? (and 1 more field: title)'
    )


def test_a_yaml_number_where_text_is_expected_names_both_types(tmp_path: Path) -> None:
    path = tmp_path / "price.yaml"
    text = TYPO.replace("titel", "title").replace("name: Moka", "name: Moka, price: 9")
    assert refusal_of(path, text) == (
        f"{path}:5:29: items.1.price: expected a string, found a number (9)"
    )


def test_a_yaml_indentation_error_gives_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "indented.yaml"
    text = TYPO.replace("  - {key: moka", "   - {key: moka")
    assert refusal_of(path, text).startswith(f"{path}:5:4: not valid YAML: ")


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("slug: [unclosed")
    with pytest.raises(ValidationError, match=r"broken\.yaml:1:16: not valid YAML"):
        Comparison.from_file(path)
    path = tmp_path / "broken.json"
    path.write_text('{"slug": "kettle"\n "title": "x"}')
    with pytest.raises(ValidationError, match=r"broken\.json:2:2: not valid JSON"):
        Comparison.from_file(path)
    with pytest.raises(ValidationError, match="missing.yaml: cannot be read"):
        Comparison.from_file(tmp_path / "missing.yaml")


def test_publish_returns_how_to_embed(sdk: Client) -> None:
    published = sdk.publish(kettle_vs_moka())
    assert published.created is True
    assert published.slug == "kettle-vs-moka-pot"
    assert published.token in published.snippet
    assert published.iframe_url.endswith("/embed/acme/kettle-vs-moka-pot")
    assert published.url.endswith("/c/acme/kettle-vs-moka-pot")
    again = sdk.publish(kettle_vs_moka())
    assert again.created is False and again.token == published.token
    assert sdk.embed("kettle-vs-moka-pot") == again


def test_get_returns_the_comparison_with_computed_fields(sdk: Client) -> None:
    sdk.publish(kettle_vs_moka())
    stored = sdk.get("kettle-vs-moka-pot")
    assert stored == kettle_vs_moka()
    assert [item.panel_ship for item in stored.items] == [100, 50]
    assert [item.community for item in stored.items] == [None, None]
    assert stored.contested == ["moka"] and stored.votes == 0
    assert stored.etag is not None


def test_publish_accepts_a_plain_document(sdk: Client, document: dict[str, Any]) -> None:
    assert sdk.publish(document).slug == "kettle-vs-moka-pot"


def test_list_follows_every_page(sdk: Client) -> None:
    comparison = kettle_vs_moka()
    for n in range(5):
        comparison.slug = f"comparison-{n}"
        sdk.publish(comparison)
    assert [s.slug for s in sdk.iter(page_size=2)] == [f"comparison-{n}" for n in range(5)]
    assert [s.title for s in sdk.list()] == ["Electric Kettle vs Moka Pot"] * 5


def test_delete_then_get_raises_not_found_with_the_servers_message(sdk: Client) -> None:
    sdk.publish(kettle_vs_moka())
    sdk.delete("kettle-vs-moka-pot")
    with pytest.raises(NotFound) as caught:
        sdk.get("kettle-vs-moka-pot")
    assert caught.value.status == 404
    assert caught.value.message == "You have no comparison with the slug 'kettle-vs-moka-pot'."


def test_replace_with_a_stale_etag_raises_precondition_failed(sdk: Client) -> None:
    sdk.publish(kettle_vs_moka())
    stale = sdk.get("kettle-vs-moka-pot").etag
    changed = kettle_vs_moka()
    changed.title = "Changed"
    sdk.replace(changed, stale or "")
    changed.title = "Changed again"
    with pytest.raises(PreconditionFailed):
        sdk.replace(changed, stale or "")


def test_server_validation_errors_carry_the_fields(sdk: Client, document: dict[str, Any]) -> None:
    # Bypass offline validation to see what the server itself answers.
    document["items"][0]["logo"] = "javascript:alert(1)"
    with pytest.raises(ValidationError) as caught:
        sdk._request("PUT", "/comparisons/kettle-vs-moka-pot", json=document)
    assert caught.value.status == 422
    assert caught.value.fields == {"items.0.logo": ["Must be an http:// or https:// URL."]}


def test_server_validation_errors_name_an_unknown_field_first(
    sdk: Client, document: dict[str, Any]
) -> None:
    document["titel"] = document.pop("title")  # bypass offline validation, as above
    with pytest.raises(ValidationError) as caught:
        sdk._request("PUT", "/comparisons/kettle-vs-moka-pot", json=document)
    assert caught.value.message == (
        'The document is not valid: titel: unknown field; did you mean "title"? '
        "(and 1 more field: title)"
    )
    assert list(caught.value.fields) == ["titel", "title"]


def test_a_wrong_api_key_raises_authentication_error(app: Any, live_server: str) -> None:
    with Client(live_server, "vsw_wrong") as client, pytest.raises(AuthenticationError) as caught:
        client.list()
    assert "not valid" in caught.value.message


def test_the_client_works_over_real_http(live_server: str, api_key: str) -> None:
    with Client(live_server, api_key) as client:
        assert client.publish(kettle_vs_moka()).created
        assert [s.slug for s in client.list()] == ["kettle-vs-moka-pot"]


def test_a_server_that_is_down_raises_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", "vsw_key") as client:
        with pytest.raises(ConnectionFailed, match="Could not reach the vswidget server"):
            client.list()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_server_that_does_not_answer_raises_connection_failed(silent_server: str) -> None:
    with Client(silent_server, "vsw_key", timeout=0.3) as client:
        with pytest.raises(ConnectionFailed, match="did not answer in time") as caught:
            client.list()
    assert isinstance(caught.value, VSWidgetError)
