"""Alembic migrations of the vswidget database, run with ``vswidget db upgrade``.

Alembic is imported only to migrate: a server worker never needs it (about 10 MiB), and
/readyz learns the revisions from ``revisions()``.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = Path(__file__).parent / "versions"


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration for this folder and ``database_url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


@functools.cache
def revisions() -> dict[str, frozenset[str]]:
    """Return each revision of this code with the revisions it follows (its down_revision).

    Read from each version file's ``revision`` and ``down_revision`` literals, the two
    names Alembic reads, without running the file (which would import Alembic).
    """
    found: dict[str, frozenset[str]] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        names = {
            target.id: node.value
            for node in ast.parse(path.read_text(), str(path)).body
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        follows = ast.literal_eval(names["down_revision"]) or ()
        found[ast.literal_eval(names["revision"])] = frozenset(
            [follows] if isinstance(follows, str) else follows
        )
    return found


def heads() -> frozenset[str]:
    """Return the revisions no other revision follows: where ``upgrade`` ends."""
    known = revisions()
    return frozenset(known) - frozenset().union(*known.values())
