"""The model of the widget's height that the snippet's reserved space comes from.

tests/browser/test_fit.py holds the model to what Chromium renders; these pin its shape.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from vswidget.schemas import load_comparison
from vswidget.server import layout
from vswidget.server.embed import RESERVE_WIDTHS, frame_fit, reserve_style, reserved_heights

SEED = Path(__file__).parents[1] / "examples" / "comparisons" / "whisper-vs-parakeet.yaml"


@pytest.fixture
def seed() -> dict[str, Any]:
    return load_comparison(yaml.safe_load(SEED.read_text(encoding="utf-8")))


def four_long_items(seed: dict[str, Any]) -> dict[str, Any]:
    """The seed with four items whose names and prices are long: a tall compact form."""
    items = [
        {**seed["items"][i % 2], "key": f"item-{i}", "name": f"A tool with a long name, number {i}"}
        for i in range(4)
    ]
    for item in items:
        item["price"] = "Free; teams from $20 a month, billed yearly"
    panel = [
        {
            **r,
            "verdicts": {
                i["key"]: r["verdicts"][seed["items"][n % 2]["key"]] for n, i in enumerate(items)
            },
        }
        for r in seed["panel"]
    ]
    return {**seed, "items": items, "panel": panel}


def test_a_wider_column_never_holds_more_than_a_narrower_one(seed: dict[str, Any]) -> None:
    heights = [height for _, height in reserved_heights(seed)]
    assert heights == sorted(heights, reverse=True)
    assert [width for width, _ in reserved_heights(seed)] == list(RESERVE_WIDTHS)


def test_the_style_steps_down_once_for_each_band_that_is_shorter(seed: dict[str, Any]) -> None:
    bands = reserved_heights(seed)
    style = reserve_style(seed)
    assert style.startswith(f"height:0;padding-bottom:calc({bands[-1][1]}px + ")
    steps = re.findall(r"clamp\(0px,\((\d+)px - 100%\)\*1000,(\d+)px\)", style)
    drops = {
        upper: height - lower
        for (_, height), (upper, lower) in zip(bands, bands[1:], strict=False)
        if height > lower
    }
    assert {int(w): int(h) for w, h in steps} == drops
    # The sum of the steps below a width, and the widest band's height, is that band's height.
    assert bands[-1][1] + sum(drops.values()) == bands[0][1]


def test_lines_wrap_by_words_and_break_a_word_longer_than_the_line() -> None:
    assert layout.lines("", 100, 10) == 0
    assert layout.lines("one two", 1000, 10) == 1
    # 19 characters a line at 10 px in 100 px: three 4-letter words and their spaces.
    assert layout.lines("word " * 40, 100, 10) == 10
    assert layout.lines("x" * 100, 52, 10) == 10  # 10 characters a line


def test_the_iframe_form_keeps_its_form_when_it_fits_and_goes_tight_when_nothing_else_does(
    seed: dict[str, Any],
) -> None:
    assert frame_fit(seed) == (True, False)
    assert layout.frame_height(seed, 320) <= 1000
    tall = four_long_items(seed)
    form, tight = frame_fit(tall)
    assert form is False
    assert layout.frame_height(tall, 320, form, tight) <= 1000
