"""The suite's own layout: what tests share lives in helpers modules (names to import) and
conftest.py files (fixtures); no test module imports another test module or a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_modules(path: Path) -> set[str]:
    """The last part of every module name ``path`` imports, ``from . import x`` included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.rpartition(".")[2] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                names.add(node.module.rpartition(".")[2])
            else:
                names.update(alias.name for alias in node.names)
    return names


def is_test_module_or_conftest(name: str) -> bool:
    return name.startswith("test_") or name == "conftest"


def test_no_module_of_the_suite_imports_a_test_module_or_a_conftest() -> None:
    sources = [p for p in TESTS.rglob("*.py") if "node_modules" not in p.parts]
    assert sources, "no Python file found under tests/"
    offending = {
        str(path.relative_to(TESTS)): sorted(
            name for name in imported_modules(path) if is_test_module_or_conftest(name)
        )
        for path in sources
    }
    assert {path: names for path, names in offending.items() if names} == {}
