"""How tall a comparison's widget will be at a column width: a model of widget.css.

The snippet reserves this height before widget.js has loaded, so the host page does not
move when the widget appears; the iframe form's oEmbed answer starts at it. Text is
wrapped word by word at an average glyph width, a little wider than common fonts', so
the model errs on the tall side: widget.js gives back what was held and not needed
without moving what the reader sees. ``tests/browser/test_fit.py`` holds the model to
what Chromium renders, and docs/embedding.md says how close it comes.

Every size here is one of widget.css (or page.css, for the iframe form): change them
together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from . import tallies
from .tallies import majority

# Average advance of a glyph, in em: text, bold text, small capitals with their spacing.
GLYPH, BOLD, CAPS = 0.52, 0.6, 0.72
MARGIN = 1.02  # and 2 % more, for the lines that wrap earlier than an average says


def lines(text: str | None, width: float, size: float, glyph: float = GLYPH) -> int:
    """Return how many lines ``text`` takes at ``size`` px in a box ``width`` px wide."""
    if not text:
        return 0
    per_line = max(1, int(width / (size * glyph)))
    count, used = 1, 0
    for word in text.split():
        length = len(word)
        if used and used + 1 + length > per_line:
            count, used = count + 1, 0
        if used:
            used += 1
        while length > per_line:  # a word longer than the line breaks anywhere
            count, length = count + 1, length - per_line
        used += length
    return count


def text(value: str | None, width: float, size: float, line: float, glyph: float = GLYPH) -> float:
    """Return the height of a block of text: its lines times the line height (px)."""
    return lines(value, width, size, glyph) * size * line


def stack(heights: Iterable[float], gap: float) -> float:
    """Return the height of boxes stacked with ``gap`` between those that are not empty."""
    shown = [h for h in heights if h]
    return sum(shown) + gap * max(len(shown) - 1, 0)


def wrap(widths: list[float], width: float, gap: float) -> list[list[int]]:
    """Return the rows (indices into ``widths``) that boxes fill in a wrapping flex row."""
    rows: list[list[int]] = []
    used = 0.0
    for index, box in enumerate(widths):
        if not rows or used + gap + box > width:
            rows.append([])
            used = -gap
        rows[-1].append(index)
        used += gap + box
    return rows


def grid(items: list[dict[str, Any]], per_row: int, gap: float, height: Any) -> float:
    """Return the height of ``items`` laid out ``per_row`` to a row, each row as tall as its
    tallest, ``height(item)`` giving each one's."""
    rows = [items[i : i + per_row] for i in range(0, len(items), per_row)]
    return stack((max(height(item) for item in row) for row in rows), gap)


def columns(count: int, inner: float) -> int:
    """Return how many item cards sit side by side in the container's ``inner`` width."""
    if inner < 460 or (count == 3 and inner < 700):
        return 1
    if count == 4 and inner < 900:
        return 2
    return max(1, min(count, int((inner - 40 + 12) // 212)))


def _card(document: dict[str, Any], item: dict[str, Any], width: float) -> float:
    """Return the height of one item card ``width`` px wide (border included)."""
    inner = width - 34  # padding 16 + 16, border 1 + 1
    panel = document.get("panel") or []
    flag = "Panel split" if item["key"] in _contested(document) else "Agrees" * (len(panel) > 1)
    flags = " ".join(f for f in (flag, "Sponsored" * bool(item.get("sponsored"))) if f)
    top = " ".join(f for f in (item.get("category"), flags) if f)
    meta = 0 if not top else 19.4 + 23.4 * (lines(top + "    ", inner, 12, CAPS) - 1)
    label = text("Panel ship", (inner - 16) / 2, 12, 1.45, CAPS)
    shares = label + 40.6 + 20.85  # the label, the figure over its bar, the vote count
    entry = 8 + text(item.get("price"), inner - 5 * 12 * CAPS - 8, 14, 1.45, BOLD)
    stats = 22 + shares + (entry if item.get("price") else 0)
    vote = 40 if lines(f"Pick {item['name']}", inner - 28, 14, BOLD) <= 1 else 58
    actions = (
        vote + 8 + text(f"Visit {item['name']} +", inner, 14, 1.45, BOLD)
    )  # one above the other
    parts = [
        meta,
        text(item["name"], inner, 18, 1.2, BOLD),
        text(item.get("tagline"), inner, 14, 1.45),
        stats,
        20.3 if item.get("description") else 0,
        actions,
    ]
    return 32 + stack(parts, 6)


def _contested(document: dict[str, Any]) -> list[str]:
    return tallies.contested(document.get("panel") or [], [i["key"] for i in document["items"]])


def _items(document: dict[str, Any], inner: float) -> float:
    items = document["items"]
    per_row = columns(len(items), inner)
    body = inner - 40
    card = (body - 12 * (per_row - 1)) / per_row
    return grid(items, per_row, 12, lambda item: _card(document, item, card))


def _scorecard(document: dict[str, Any], body: float) -> float:
    rows = []
    panel = document.get("panel") or []
    majorities = {item["key"]: majority(panel, item["key"]) for item in document["items"]}
    for reviewer in panel:
        dissents = tallies.dissents(reviewer, majorities)
        chips = [
            len(item["name"]) * 13 * BOLD
            + 4 * 11 * CAPS
            + 37
            + (24 if item["key"] in dissents else 0)
            for item in document["items"]
            if item["key"] in reviewer["verdicts"]
        ]
        chip_rows = len(wrap(chips, body, 6))
        chip = 49 if max(chips) > body else 25  # a chip wider than the row wraps inside
        verdicts = chip_rows * chip + 6 * (chip_rows - 1)
        chips_width = sum(chips) + 6 * (len(chips) - 1)
        beside = chips_width + 16 + 200 <= body
        who_width = body - chips_width - 16 if beside else body
        who = 20.3 + text(reviewer.get("lens"), who_width, 13, 1.45)
        row = max(who, verdicts) if beside else who + 6 + verdicts
        quoted = any(v.get("quote") for v in reviewer["verdicts"].values())
        rows.append(17 + row + (6 + 20.3 if quoted else 0))
    return 21.4 + sum(rows) if rows else 0


def _cta(document: dict[str, Any], body: float, form: bool = True, tight: bool = False) -> float:
    cta = document.get("cta")
    if not cta:
        return 0
    inner = body - 34
    words = stack(
        [
            text(cta["headline"], inner, 18, 1.2, BOLD),
            0 if tight else text(cta.get("text"), inner, 14, 1.45),
        ],
        0,
    )
    if cta["kind"] == "link" or not form:
        label = cta.get("label") or "Learn more"
        button = 40
        beside = inner >= 200 + 16 + len(label) * 14 * BOLD + 32
        return 30 + (max(words, button) if beside else words + 10 + button)
    label = cta.get("label") or "Subscribe"
    row = 40 if inner >= 200 + 8 + len(label) * 14 * BOLD + 32 else 88
    consent = text(
        "Yes, send me this newsletter. I can unsubscribe at any time.", inner - 26, 14, 1.45
    )
    fields = 21.75 + 4 + row + 10 + consent  # the label's line is the form's, 15 px high
    return 30 + words + 10 + fields


def widget_height(document: dict[str, Any], width: int) -> int:
    """Return the height in pixels of a document's widget in a column ``width`` px wide."""
    inner = width - 2  # the widget's border
    head_width = inner - 40
    head = 30 + stack(
        [
            text(document.get("kicker"), head_width, 12, 1.45, CAPS),
            text(document["title"], head_width, 22, 1.2, BOLD),
            text(document.get("question"), head_width, 15, 1.45),
        ],
        0,
    )
    poll = 6 + text("No votes yet: be the first to pick one.", head_width, 14, 1.45)
    body = inner - 40
    parts = [_items(document, inner), _scorecard(document, body), _cta(document, body)]
    foot = 1 + 20 + 18.85
    return math.ceil((2 + head + poll + 20 + stack(parts, 16) + foot) * MARGIN)


def _frame_card(item: dict[str, Any], width: float, tight: bool) -> float:
    """Return the height of one compact card of the iframe form (page.css)."""
    left = width - 2 - 24 - 12 - 88  # border, padding, the gap, the vote button's column
    name = text(item["name"], left, 16, 1.2, BOLD)
    # The figures flow in a wrapping row: each a label in small capitals and a value.
    chunks = [(10 * 11 * CAPS + 5 + 4 * 14 * BOLD, 17.9), (9 * 11 * CAPS + 5 + 140, 17.9)]
    if item.get("price") and not tight:
        label = 5 * 11 * CAPS + 5
        price = len(item["price"]) * 14 * BOLD
        if label + price <= left:
            chunks.append((label + price, 20.3))
        else:
            chunks.append((left, text(item["price"], left - label, 14, 1.45, BOLD)))
    rows = wrap([chunk for chunk, _ in chunks], left, 14)
    stats = sum(max(chunks[i][1] for i in row) for row in rows)
    return 22 + max(name + 4 + stats, 58.3)


def frame_height(
    document: dict[str, Any], width: int, form: bool = True, tight: bool = False
) -> int:
    """Return the height in pixels of a document's iframe form in a frame ``width`` px wide:
    with the newsletter's form or a link to it, and ``tight``, without what page.css leaves
    out when even that is too tall."""
    inner = width - 2
    head_width = inner - 32
    head = 22 + (
        0
        if tight
        else stack(
            [
                text(document.get("kicker"), head_width, 12, 1.45, CAPS),
                text(document.get("question"), head_width, 15, 1.45),
                6 + text("No votes yet: be the first to pick one.", head_width, 14, 1.45),
            ],
            0,
        )
    )
    head += text(document["title"], head_width, 20, 1.2, BOLD)
    body = inner - 32
    items = document["items"]
    per_row = max(1, min(len(items), int((body + 8) // 288)))
    card = (body - 8 * (per_row - 1)) / per_row
    cards = grid(items, per_row, 8, lambda item: _frame_card(item, card, tight))
    reviewers = len(document.get("panel") or [])
    panel = text(f"Read the {reviewers} reviewers' verdicts and quotes", body, 14, 1.45, BOLD)
    parts = [cards, panel if reviewers else 0, _cta(document, body + 8, form, tight)]
    foot = 1 + 16 + 18.85
    return math.ceil((2 + head + 16 + stack(parts, 12) + foot) * MARGIN)
