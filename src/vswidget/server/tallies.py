"""Pure arithmetic on a comparison: panel ship share, reviewer split, community share.

Shares are whole percents rounded half up, so the numbers a reader sees are the
numbers the server computed; ``None`` means there is nothing to share yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Below this many reader votes the community shares can still move a lot: the widget and
# the dashboard say so (widget/src/format.js holds the same number as FEW).
FEW_VOTES = 30


def percent(part: int, whole: int) -> int | None:
    """Return ``part`` of ``whole`` as a whole percent, or None when ``whole`` is 0."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def ship_count(panel: list[Mapping[str, Any]], item_key: str) -> int:
    """Return how many reviewers said ship on an item."""
    return sum(1 for reviewer in panel if reviewer["verdicts"][item_key]["verdict"] == "ship")


def panel_ship(panel: list[Mapping[str, Any]], item_key: str) -> int | None:
    """Return the share of reviewers who said ship on an item."""
    return percent(ship_count(panel, item_key), len(panel))


def majority(panel: list[Mapping[str, Any]], item_key: str) -> str | None:
    """Return the panel's majority verdict on an item, or None on a tie."""
    ships = ship_count(panel, item_key)
    skips = len(panel) - ships
    if ships == skips:
        return None
    return "ship" if ships > skips else "skip"


def contested(panel: list[Mapping[str, Any]], item_keys: list[str]) -> list[str]:
    """Return the item keys on which the reviewers do not all agree."""
    return [
        key
        for key in item_keys
        if len({reviewer["verdicts"][key]["verdict"] for reviewer in panel}) > 1
    ]


def dissents(reviewer: Mapping[str, Any], majorities: Mapping[str, str | None]) -> list[str]:
    """Return the item keys on which a reviewer goes against the panel majority."""
    return [
        key
        for key, verdict in majorities.items()
        if verdict is not None and reviewer["verdicts"][key]["verdict"] != verdict
    ]


def tally(document: Mapping[str, Any], votes: Mapping[str, int]) -> dict[str, Any]:
    """Return the document with every computed field filled in.

    ``votes`` maps item keys to reader votes; keys it lacks have none.
    """
    panel: list[Mapping[str, Any]] = document.get("panel", [])
    keys = [item["key"] for item in document["items"]]
    total = sum(votes.get(key, 0) for key in keys)
    majorities = {key: majority(panel, key) for key in keys}
    return {
        **document,
        "items": [
            {
                **item,
                "panel_ship": panel_ship(panel, item["key"]),
                "votes": votes.get(item["key"], 0),
                "community": percent(votes.get(item["key"], 0), total),
            }
            for item in document["items"]
        ],
        "panel": [{**reviewer, "dissents": dissents(reviewer, majorities)} for reviewer in panel],
        "votes": total,
        "contested": contested(panel, keys),
    }
