"""Panel ship share, reviewer split and community share: computed, never accepted."""

from __future__ import annotations

from typing import Any

import pytest

from vswidget.schemas import load_comparison
from vswidget.server.tallies import percent, tally


@pytest.mark.parametrize(
    ("part", "whole", "share"),
    [(0, 3, 0), (1, 3, 33), (2, 3, 67), (1, 2, 50), (1, 8, 13), (3, 3, 100), (0, 0, None)],
)
def test_shares_are_whole_percents_rounded_half_up(
    part: int, whole: int, share: int | None
) -> None:
    assert percent(part, whole) == share


def test_panel_ship_is_the_share_of_reviewers_who_said_ship(document: dict[str, Any]) -> None:
    result = tally(load_comparison(document), {})
    assert [item["panel_ship"] for item in result["items"]] == [100, 50]


def test_without_a_panel_there_is_no_panel_share(document: dict[str, Any]) -> None:
    document["panel"] = []
    result = tally(load_comparison(document), {})
    assert [item["panel_ship"] for item in result["items"]] == [None, None]
    assert result["contested"] == []


def test_community_share_is_a_dash_until_someone_votes(document: dict[str, Any]) -> None:
    result = tally(load_comparison(document), {})
    assert [item["community"] for item in result["items"]] == [None, None]
    assert result["votes"] == 0


def test_community_share_comes_from_reader_votes(document: dict[str, Any]) -> None:
    result = tally(load_comparison(document), {"kettle": 1, "moka": 2})
    assert [(i["votes"], i["community"]) for i in result["items"]] == [(1, 33), (2, 67)]
    assert result["votes"] == 3


def test_votes_for_keys_no_longer_in_the_comparison_do_not_count(document: dict[str, Any]) -> None:
    result = tally(load_comparison(document), {"kettle": 1, "teapot": 5})
    assert result["votes"] == 1
    assert result["items"][0]["community"] == 100


def test_the_split_names_contested_items_and_dissenting_reviewers(document: dict[str, Any]) -> None:
    document["panel"].append(
        {
            "name": "The Camper",
            "verdicts": {"kettle": {"verdict": "skip"}, "moka": {"verdict": "ship"}},
        }
    )
    result = tally(load_comparison(document), {})
    assert result["contested"] == ["kettle", "moka"]
    assert [reviewer["dissents"] for reviewer in result["panel"]] == [["moka"], [], ["kettle"]]


def test_on_a_tie_nobody_dissents(document: dict[str, Any]) -> None:
    result = tally(load_comparison(document), {})
    assert result["contested"] == ["moka"]
    assert [reviewer["dissents"] for reviewer in result["panel"]] == [[], []]
