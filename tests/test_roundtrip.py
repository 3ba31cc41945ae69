"""Every valid comparison goes through the SDK, the server and back unchanged.

hypothesis generates documents within the limits of ``schemas.py`` (2 to 4 items,
up to 12 reviewers, every length and pattern), with any Unicode text and white
space around it. Each is published with the SDK over HTTP to a live server, read
back with the SDK and through the public payload, and must equal what was sent
once normalized as docs/comparison.md says: text stripped, empty optional text
absent, ``locale``, ``sponsored`` and ``panel`` defaulted. Computed fields (votes,
panel ship, community, dissents, contested) are left out of the comparison.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from vswidget import Client
from vswidget.schemas import (
    CTA_KINDS,
    LOCALES,
    MAX_ITEMS,
    MAX_REVIEWERS,
    MIN_ITEMS,
    VERDICTS,
    ComparisonSchema,
    CtaSchema,
    ItemSchema,
    ReviewerSchema,
    VerdictSchema,
    document_of,
)

EXAMPLES = 40
# Any character a JSON document can carry and a database can store: not NUL, no
# lone surrogates (both refused with a 400, see test_hostile_input.py).
CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
LOWER = string.ascii_lowercase + string.digits


def text(schema: type, name: str, *, required: bool = False) -> st.SearchStrategy[str]:
    """Text as long as the field allows, with white space around it now and then."""
    limit: int = schema().fields[name].max_length
    core = st.text(CHARACTERS, min_size=1 if required else 0, max_size=limit)
    if required:
        core = core.filter(lambda value: value.strip() != "")
    return st.tuples(st.sampled_from(["", " ", "\n\t"]), core, st.sampled_from(["", "  "])).map(
        lambda parts: "".join(parts)
    )


def key(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """A slug or item key: lowercase letters and digits, inner hyphens."""
    pattern = rf"\A[a-z0-9](?:[a-z0-9-]{{0,{max_size - 2}}}[a-z0-9])?\Z"
    return st.from_regex(pattern).filter(lambda value: len(value) >= min_size)


urls = st.builds(
    "{}://{}.example/{}".format,
    st.sampled_from(["http", "https"]),
    st.text(LOWER, min_size=1, max_size=20),
    st.text(LOWER + "-._~/", max_size=40),
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid comparison document, optional fields present or not."""
    keys = draw(st.lists(key(1, 40), min_size=MIN_ITEMS, max_size=MAX_ITEMS, unique=True))
    items = []
    for item_key in keys:
        item = {"key": item_key, "name": draw(text(ItemSchema, "name", required=True))}
        for name in ("category", "tagline", "description", "price"):
            item[name] = draw(optional(text(ItemSchema, name)))
        item |= {"url": draw(optional(urls)), "logo": draw(optional(urls))}
        item["sponsored"] = draw(optional(st.booleans()))
        items.append({k: v for k, v in item.items() if v is not None})
    panel = []
    for _ in range(draw(st.integers(0, MAX_REVIEWERS))):
        verdicts = {
            item_key: {
                "verdict": draw(st.sampled_from(VERDICTS)),
                **(
                    {}
                    if (q := draw(optional(text(VerdictSchema, "quote")))) is None
                    else {"quote": q}
                ),
            }
            for item_key in keys
        }
        reviewer = {"name": draw(text(ReviewerSchema, "name", required=True)), "verdicts": verdicts}
        if (lens := draw(optional(text(ReviewerSchema, "lens")))) is not None:
            reviewer["lens"] = lens
        panel.append(reviewer)
    document: dict[str, Any] = {
        "slug": draw(key(3, 80)),
        "title": draw(text(ComparisonSchema, "title", required=True)),
        "items": items,
        "kicker": draw(optional(text(ComparisonSchema, "kicker"))),
        "question": draw(optional(text(ComparisonSchema, "question"))),
        "locale": draw(optional(st.sampled_from(LOCALES))),
        "panel": panel if panel or draw(st.booleans()) else None,
        "cta": draw(optional(ctas())),
        "hosts": draw(optional(st.lists(hosts(), max_size=5))),
    }
    return {k: v for k, v in document.items() if v is not None}


@st.composite
def ctas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(CTA_KINDS))
    cta = {"kind": kind, "headline": draw(text(CtaSchema, "headline", required=True))}
    for name in ("text", "label"):
        if (value := draw(optional(text(CtaSchema, name)))) is not None:
            cta[name] = value
    if kind == "link":
        cta["url"] = draw(urls)
    return cta


def hosts() -> st.SearchStrategy[str]:
    label = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?\Z")
    return st.builds(
        "{}{}.{}".format, st.sampled_from(["", "*."]), label, st.sampled_from(["com", "example"])
    )


def normalized(document: dict[str, Any]) -> dict[str, Any]:
    """The document as docs/comparison.md says the server keeps it."""

    def clean(data: dict[str, Any]) -> dict[str, Any]:
        kept = {}
        for name, value in data.items():
            if isinstance(value, str) and name not in {"key", "slug", "url", "logo", "kind"}:
                value = value.strip() or None
            if value is not None:
                kept[name] = value
        return kept

    items = [{"sponsored": False} | clean(item) for item in document["items"]]
    panel = [
        clean(reviewer) | {"verdicts": {k: clean(v) for k, v in reviewer["verdicts"].items()}}
        for reviewer in document.get("panel", [])
    ]
    result = {"locale": "en"} | clean(document) | {"items": items, "panel": panel}
    if "cta" in document:
        result["cta"] = clean(document["cta"])
    return result


@pytest.fixture
def publisher(live_server: str, api_key: str) -> Iterator[Client]:
    """The SDK talking to a live server over HTTP."""
    with Client(live_server, api_key) as client:
        yield client


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: print the first failure
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=documents())
def test_every_valid_comparison_comes_back_as_it_was_sent(
    publisher: Client, live_server: str, document: dict[str, Any]
) -> None:
    published = publisher.publish(document)
    expected = normalized(document)

    # The SDK's objects leave defaults out of to_dict(): normalized() puts them back.
    read = publisher.get(document["slug"]).to_dict()
    assert normalized(read) == expected

    answer = httpx.get(f"{live_server}/v1/payload/{published.token}", timeout=10)
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert document_of(payload) == expected
    assert [item["votes"] for item in payload["items"]] == [0] * len(expected["items"])
