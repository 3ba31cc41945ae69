"""document.py's classes hold the schema's fields, no more and no fewer: one definition.

Each class mirrors a schema (``document.MIRRORS``); a field added to one side alone
fails here, and a served field a class lacks is refused, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields as dataclass_fields
from typing import Any

import pytest
from marshmallow import Schema, fields

from vswidget import document
from vswidget.client import Published
from vswidget.document import MIRRORS, Comparison, Item
from vswidget.schemas import ComparisonSchema, EmbedSchema, ItemSchema


def nested_schemas(schema: Schema) -> Iterator[Schema]:
    """Yield ``schema`` and every schema nested in it, at any depth."""
    yield schema
    for spec in schema.fields.values():
        inner = getattr(spec, "inner", None) or getattr(spec, "value_field", None) or spec
        if isinstance(inner, fields.Nested):
            yield from nested_schemas(inner.schema)


def own_fields(cls: type) -> set[str]:
    """Return the fields of a class that a schema holds: all but the HTTP headers."""
    return {spec.name for spec in dataclass_fields(cls) if "header" not in spec.metadata}


def test_every_schema_of_a_comparison_is_mirrored_by_a_class() -> None:
    reached = {type(schema) for schema in nested_schemas(ComparisonSchema())}
    mirrored = {type(schema) for schema, _ in MIRRORS.values()}
    assert reached == mirrored | {EmbedSchema}  # the embed: the SDK's Published


def test_every_class_of_the_document_mirrors_a_schema() -> None:
    assert {getattr(document, name) for name in document.__all__} == set(MIRRORS)


@pytest.mark.parametrize("cls", list(MIRRORS), ids=lambda cls: cls.__name__)
def test_a_class_has_every_field_of_its_schema_and_no_other(cls: type) -> None:
    schema, left_out = MIRRORS[cls]
    assert left_out <= set(schema.fields)
    assert own_fields(cls) == set(schema.fields) - left_out


@pytest.mark.parametrize("cls", list(MIRRORS), ids=lambda cls: cls.__name__)
def test_a_field_is_computed_in_a_class_exactly_when_the_server_computes_it(cls: type) -> None:
    schema, _ = MIRRORS[cls]
    computed = {spec.name for spec in dataclass_fields(cls) if spec.metadata.get("computed")}
    assert computed & set(schema.fields) == {
        n for n in own_fields(cls) if schema.fields[n].dump_only
    }


def test_published_has_the_fields_of_the_embed_schema() -> None:
    answered = {spec.name for spec in dataclass_fields(Published)} - {"created"}  # 201 or 200
    assert answered == set(EmbedSchema().fields)


def served(document: dict[str, Any], **item: Any) -> dict[str, Any]:
    """Return a comparison as the server serves it, its first item with ``item`` added."""
    loaded = ComparisonSchema().load(document)
    loaded["items"][0].update(item)
    return {**loaded, "created_at": "2026-12-06T10:00:00Z", "embed": {"slug": loaded["slug"]}}


def test_a_served_field_of_the_schema_that_a_class_lacks_is_refused(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class GrownItemSchema(ItemSchema):
        badge = fields.String()

    monkeypatch.setitem(MIRRORS, Item, (GrownItemSchema(), frozenset()))
    with pytest.raises(TypeError, match="Item lacks the schema's fields badge"):
        Comparison.from_served(served(document, badge="new"))


def test_a_served_field_no_schema_knows_is_left_out(document: dict[str, Any]) -> None:
    comparison = Comparison.from_served(served(document, badge="from a newer server"))
    assert comparison == Comparison.from_dict(document)
