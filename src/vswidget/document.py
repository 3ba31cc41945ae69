"""Plain Python objects that mirror the comparison document.

Build a comparison in Python or load one from YAML or JSON; both give equal
objects. ``validate()`` runs the server's own schema, offline. Fields marked
computed are filled in by the server and never sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from .errors import ValidationError, describe, validation_error
from .schemas import (
    ComparisonSchema,
    CtaSchema,
    ItemSchema,
    ReviewerSchema,
    VerdictSchema,
    load_comparison,
)

__all__ = ["Comparison", "Item", "Link", "Newsletter", "Reviewer", "Verdict"]

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")


def computed(header: str | None = None) -> Any:
    """A field the server computes: not compared, not sent.

    ``header`` names the HTTP header it comes from when it is no field of the schema.
    """
    metadata = {"computed": True, **({"header": header} if header else {})}
    return field(default=None, compare=False, repr=False, metadata=metadata)


@dataclass
class Verdict:
    """One reviewer's verdict on one item: ship or skip, with a quote."""

    verdict: Literal["ship", "skip"]
    quote: str | None = None

    @classmethod
    def ship(cls, quote: str | None = None) -> Verdict:
        return cls("ship", quote)

    @classmethod
    def skip(cls, quote: str | None = None) -> Verdict:
        return cls("skip", quote)


@dataclass
class Item:
    """One of the 2 to 4 things compared."""

    key: str
    name: str
    category: str | None = None
    tagline: str | None = None
    description: str | None = None
    price: str | None = None
    url: str | None = None
    logo: str | None = None
    sponsored: bool = False
    panel_ship: int | None = computed()
    votes: int | None = computed()
    community: int | None = computed()


@dataclass
class Reviewer:
    """A member of the review panel and their verdict on each item, by item key."""

    name: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    lens: str | None = None
    dissents: list[str] | None = computed()


@dataclass
class Newsletter:
    """A call to action that asks readers to sign up for a newsletter."""

    kind: ClassVar[str] = "newsletter"
    headline: str
    text: str | None = None
    label: str | None = None


@dataclass
class Link:
    """A call to action that sends readers to a page."""

    kind: ClassVar[str] = "link"
    headline: str
    url: str
    text: str | None = None
    label: str | None = None


@dataclass(kw_only=True)
class Comparison:
    """An 'X vs Y' comparison: items, a review panel and a call to action."""

    slug: str
    kicker: str | None = None
    title: str
    question: str | None = None
    locale: str = "en"
    items: list[Item]
    panel: list[Reviewer] = field(default_factory=list)
    cta: Newsletter | Link | None = None
    hosts: list[str] | None = None
    votes: int | None = computed()
    contested: list[str] | None = computed()
    etag: str | None = computed(header="ETag")

    @classmethod
    def from_dict(cls, data: Any) -> Comparison:
        """Return the comparison a document describes; raise ValidationError if it is not valid."""
        try:
            return _build(load_comparison(data))
        except SchemaError as error:
            raise validation_error(error.messages) from error

    @classmethod
    def from_served(cls, data: dict[str, Any]) -> Comparison:
        """Return a comparison as the server served it, computed fields included."""
        return _build(data)

    @classmethod
    def from_file(cls, path: str | Path) -> Comparison:
        """Read a comparison from a YAML or JSON file.

        Raises ValidationError whose message starts ``file:line:column:`` where the
        text cannot be parsed or the first bad field is written (JSON: the file alone).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValidationError(f"{path}: cannot be read: {_first_line(error)}") from error
        if path.suffix == ".json":
            data, node = _parse_json(path, text), None
        else:
            data, node = _parse_yaml(path, text)
        try:
            return cls.from_dict(data)
        except ValidationError as error:
            where = _where(path, node, next(iter(error.fields)))
            raise ValidationError(f"{where}: {describe(error.fields)}", error.fields) from error

    def to_dict(self) -> dict[str, Any]:
        """Return the document, as the server takes it."""
        return _plain(self)  # type: ignore[no-any-return]

    def to_yaml(self) -> str:
        """Return the document as YAML."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    def validate(self) -> Comparison:
        """Check the comparison with the server's schema; return it normalized.

        Raises ``vswidget.ValidationError`` with the server's field paths and messages.
        """
        return Comparison.from_dict(self.to_dict())


# The schema each class mirrors, and the schema's fields it leaves out on purpose: the
# server's times and embed of a comparison (Client.embed returns the embed); the ``kind``
# a call to action's class stands for, and the url a newsletter never has.
MIRRORS: dict[type, tuple[Schema, frozenset[str]]] = {
    Comparison: (ComparisonSchema(), frozenset({"created_at", "updated_at", "embed"})),
    Item: (ItemSchema(), frozenset()),
    Reviewer: (ReviewerSchema(), frozenset()),
    Verdict: (VerdictSchema(), frozenset()),
    Newsletter: (CtaSchema(), frozenset({"kind", "url"})),
    Link: (CtaSchema(), frozenset({"kind"})),
}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        document = {"kind": value.kind} if isinstance(value, Newsletter | Link) else {}
        for spec in fields(value):
            entry = getattr(value, spec.name)
            # Defaults are left out: the schema fills them in, and the YAML stays short.
            if not spec.metadata.get("computed") and entry != spec.default:
                document[spec.name] = _plain(entry)
        return document
    if isinstance(value, list):
        return [_plain(entry) for entry in value]
    if isinstance(value, dict):
        return {key: _plain(entry) for key, entry in value.items()}
    return value


def _pick(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the entries of ``data`` that are fields of ``cls``.

    Raises TypeError for a field of the schema that ``cls`` lacks and does not leave out
    (the class has drifted from the schema); a field no schema here knows, which a newer
    server may send, is left out.
    """
    schema, left_out = MIRRORS[cls]
    names = {spec.name for spec in fields(cls)}
    lacking = sorted(key for key in data if key in schema.fields and key not in names | left_out)
    if lacking:
        raise TypeError(f"{cls.__name__} lacks the schema's fields {', '.join(lacking)}.")
    return {key: value for key, value in data.items() if key in names}


def _build(data: dict[str, Any]) -> Comparison:
    """Return the objects for a normalized document, with any computed fields it carries."""
    cta = data.get("cta")
    kinds: dict[str, type[Newsletter | Link]] = {"newsletter": Newsletter, "link": Link}
    return Comparison(
        **{
            **_pick(Comparison, data),
            "items": [Item(**_pick(Item, item)) for item in data["items"]],
            "panel": [
                Reviewer(
                    **{
                        **_pick(Reviewer, reviewer),
                        "verdicts": {
                            key: Verdict(**_pick(Verdict, verdict))
                            for key, verdict in reviewer["verdicts"].items()
                        },
                    }
                )
                for reviewer in data.get("panel", [])
            ],
            "cta": kinds[cta["kind"]](**_pick(kinds[cta["kind"]], cta)) if cta else None,
        }
    )


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"{path}:{error.lineno}:{error.colno}"
        raise ValidationError(f"{where}: not valid JSON: {error.msg}") from error


def _parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    """Return the document a YAML text holds and its node tree, which knows where each field is."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node else None), node
    except yaml.MarkedYAMLError as error:
        raise ValidationError(_yaml_problem(path, error)) from error
    except yaml.YAMLError as error:
        raise ValidationError(f"{path}: not valid YAML: {_first_line(error)}") from error
    finally:
        loader.dispose()


def _yaml_problem(path: Path, error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    context = error.context_mark
    within = f" ({error.context} at line {context.line + 1})" if error.context and context else ""
    return f"{where}: not valid YAML: {error.problem or error.context}{within}"


def _where(path: Path, node: yaml.Node | None, field: str) -> str:
    """Return ``file:line:column`` of a field's name, or of its nearest written parent."""
    if node is None:
        return str(path)
    mark = node.start_mark
    for step in field.split("."):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if str(k.value) == step), None)
            if pair is None:
                break
            mark, node = pair[0].start_mark, pair[1]
        elif isinstance(node, yaml.SequenceNode) and step.isdigit() and int(step) < len(node.value):
            node = node.value[int(step)]
            mark = node.start_mark
        else:
            break
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def _first_line(error: Exception) -> str:
    return str(error).strip().split("\n")[0]
