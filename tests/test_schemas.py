"""The one definition of a comparison: what it accepts, refuses, and how it says so."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError as SchemaError

from vswidget.errors import flatten_messages
from vswidget.schemas import canonical_json, document_of, load_comparison


def errors_of(document: Any) -> dict[str, list[str]]:
    with pytest.raises(SchemaError) as caught:
        load_comparison(document)
    return flatten_messages(caught.value.messages)


def test_a_valid_document_loads_normalized(document: dict[str, Any]) -> None:
    document["title"] = "  Electric Kettle vs Moka Pot \n"
    document["items"][1]["logo"] = None
    loaded = load_comparison(document)
    assert loaded["title"] == "Electric Kettle vs Moka Pot"
    assert "logo" not in loaded["items"][1]
    assert loaded["locale"] == "en"
    assert loaded["items"][0]["sponsored"] is False


def test_optional_text_left_empty_counts_as_absent(document: dict[str, Any]) -> None:
    document["kicker"] = "   "
    assert "kicker" not in load_comparison(document)


def test_unknown_fields_are_refused_at_any_depth(document: dict[str, Any]) -> None:
    document["colour"] = "red"
    document["items"][0]["rating"] = 5
    assert errors_of(document) == {
        "colour": ["unknown field"],
        "items.0.rating": ["unknown field"],
    }


@pytest.mark.parametrize(
    ("path", "typo", "meant"),
    [((), "titel", "title"), (("items", 1), "nmae", "name"), (("cta",), "headlin", "headline")],
)
def test_an_unknown_field_names_the_closest_known_one(
    document: dict[str, Any], path: tuple[Any, ...], typo: str, meant: str
) -> None:
    target = document
    for step in path:
        target = target[step]
    target[typo] = target.pop(meant)
    name = ".".join([*map(str, path), typo])
    assert errors_of(document)[name] == [f'unknown field; did you mean "{meant}"?']


def test_missing_required_fields_are_named(document: dict[str, Any]) -> None:
    del document["title"]
    del document["items"][1]["name"]
    errors = errors_of(document)
    assert set(errors) == {"title", "items.1.name"}


@pytest.mark.parametrize("count", [0, 1, 5])
def test_a_comparison_has_two_to_four_items(document: dict[str, Any], count: int) -> None:
    item = document["items"][0]
    document["items"] = [{**item, "key": f"item-{n}"} for n in range(count)]
    document["panel"] = []
    assert errors_of(document) == {"items": ["Must have 2 to 4 items."]}


def test_the_panel_has_at_most_twelve_reviewers(document: dict[str, Any]) -> None:
    document["panel"] = document["panel"][:1] * 13
    assert errors_of(document) == {"panel": ["Must have at most 12 reviewers."]}


def test_duplicate_item_keys_are_refused(document: dict[str, Any]) -> None:
    document["items"][1]["key"] = "kettle"
    errors = errors_of(document)
    assert errors["items.1.key"] == ["Duplicate item key 'kettle'."]


def test_a_verdict_for_an_unknown_item_is_refused(document: dict[str, Any]) -> None:
    document["panel"][0]["verdicts"]["teapot"] = {"verdict": "ship"}
    assert errors_of(document) == {"panel.0.verdicts.teapot": ["No item has the key 'teapot'."]}


def test_a_missing_verdict_is_refused(document: dict[str, Any]) -> None:
    del document["panel"][1]["verdicts"]["moka"]
    assert errors_of(document) == {"panel.1.verdicts": ["Missing the verdict on 'moka'."]}


def test_a_verdict_is_ship_or_skip(document: dict[str, Any]) -> None:
    document["panel"][0]["verdicts"]["moka"]["verdict"] = "maybe"
    assert errors_of(document) == {"panel.0.verdicts.moka.verdict": ["Must be 'ship' or 'skip'."]}


@pytest.mark.parametrize("slug", ["ab", "Kettle-vs-Moka", "kettle_vs_moka", "-kettle", "a" * 81])
def test_slugs_out_of_pattern_are_refused(document: dict[str, Any], slug: str) -> None:
    document["slug"] = slug
    assert list(errors_of(document)) == ["slug"]


@pytest.mark.parametrize("key", ["", "Kettle", "ket tle", "kettle!"])
def test_item_keys_out_of_pattern_are_refused(document: dict[str, Any], key: str) -> None:
    document["items"][0]["key"] = key
    assert "items.0.key" in errors_of(document)


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        (("title",), 160),
        (("items", 0, "description"), 2000),
        (("panel", 0, "verdicts", "moka", "quote"), 2000),
    ],
)
def test_over_long_text_is_refused(
    document: dict[str, Any], path: tuple[Any, ...], limit: int
) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "x" * (limit + 1)
    name = ".".join(map(str, path))
    assert errors_of(document) == {name: [f"Must be at most {limit} characters."]}


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/x",
        "//example.com",
        "example.com",
    ],
)
def test_urls_must_be_http_or_https(document: dict[str, Any], url: str) -> None:
    document["items"][1]["url"] = url
    document["items"][0]["logo"] = url
    assert errors_of(document) == {
        "items.0.logo": ["Must be an http:// or https:// URL."],
        "items.1.url": ["Must be an http:// or https:// URL."],
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", 42, "expected a string, found a number (42)"),
        ("title", None, "expected a string, found null"),
        ("items", "kettle, moka", 'expected a list, found a string ("kettle, moka")'),
        ("panel", {"name": "x"}, "expected a list, found an object"),
        ("cta", ["link"], "expected an object, found a list"),
        ("hosts", [5], "expected a string, found a number (5)"),
        ("locale", "xx", "Must be one of: en, de, fr, es."),
    ],
)
def test_wrong_types_are_refused(
    document: dict[str, Any], field: str, value: Any, message: str
) -> None:
    document[field] = value
    assert list(errors_of(document).values()) == [[message]]


def test_a_number_where_text_is_expected_says_both_types(document: dict[str, Any]) -> None:
    document["items"][0]["price"] = 9
    assert errors_of(document) == {"items.0.price": ["expected a string, found a number (9)"]}


@pytest.mark.parametrize("value", ["yes", "true", "on"])
def test_sponsored_is_a_real_boolean(document: dict[str, Any], value: Any) -> None:
    document["items"][0]["sponsored"] = value
    assert errors_of(document) == {
        "items.0.sponsored": [f'expected a boolean, found a string ("{value}")']
    }


def test_a_document_must_be_an_object() -> None:
    assert errors_of(["not", "an", "object"]) == {"_schema": ["expected an object, found a list"]}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ((), "votes"),
        (("items", 0), "panel_ship"),
        (("items", 1), "community"),
        (("panel", 0), "dissents"),
    ],
)
def test_computed_fields_are_never_accepted(
    document: dict[str, Any], path: tuple[Any, ...], field: str
) -> None:
    target = document
    for step in path:
        target = target[step]
    target[field] = 100
    name = ".".join([*map(str, path), field])
    assert errors_of(document) == {name: ["Computed by the server; leave it out."]}


def test_a_link_call_to_action_needs_a_url(document: dict[str, Any]) -> None:
    document["cta"] = {"kind": "link", "headline": "Read the review"}
    assert errors_of(document) == {"cta.url": ["A link call to action needs a url."]}


def test_a_newsletter_call_to_action_has_no_url(document: dict[str, Any]) -> None:
    document["cta"]["url"] = "https://example.com"
    assert errors_of(document) == {"cta.url": ["A newsletter call to action has no url."]}


def test_document_of_leaves_out_computed_fields(document: dict[str, Any]) -> None:
    loaded = load_comparison(document)
    served = {**loaded, "votes": 3, "contested": [], "embed": {"token": "t"}}
    served["items"] = [
        {**item, "panel_ship": 50, "votes": 1, "community": 33} for item in loaded["items"]
    ]
    served["panel"] = [{**reviewer, "dissents": []} for reviewer in loaded["panel"]]
    assert document_of(served) == loaded


def test_the_canonical_text_does_not_depend_on_key_order(document: dict[str, Any]) -> None:
    reordered = dict(reversed(list(document.items())))
    assert canonical_json(load_comparison(document)) == canonical_json(load_comparison(reordered))


def test_hosts_are_lowercase_host_names_or_wildcards(document: dict[str, Any]) -> None:
    document["hosts"] = ["Blog.Example.com", "*.example.org"]
    assert load_comparison(document)["hosts"] == ["blog.example.com", "*.example.org"]
    for bad in ("https://blog.example.com", "blog.example.com/path", "*example.org", "a b"):
        document["hosts"] = [bad]
        assert list(errors_of(document)) == ["hosts.0"]
