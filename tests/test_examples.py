"""The examples are real: they validate, and Python and YAML give the same comparison."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from vswidget import Comparison

EXAMPLES = Path(__file__).parent.parent / "examples"


def load_publish_script() -> object:
    spec = importlib.util.spec_from_file_location("publish_example", EXAMPLES / "publish.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_publisher_script_builds_the_same_comparison_as_the_yaml() -> None:
    built = load_publish_script().build()  # type: ignore[attr-defined]
    assert built == Comparison.from_file(EXAMPLES / "comparisons" / "sqlite-vs-postgresql.yaml")
    assert built.validate() == built


@pytest.mark.parametrize(
    "path", sorted((EXAMPLES / "comparisons").iterdir()), ids=lambda path: path.name
)
def test_every_example_comparison_is_valid(path: Path) -> None:
    assert Comparison.from_file(path).validate()
