"""Many rows written by one statement, their parameters made before the write transaction.

SQLAlchemy turns each row's values into the driver's parameters as it executes; for the
thousands of rows of a rollup step that is most of the time the write lock is held. A
``Prepared`` statement is compiled once, and ``parameters`` does that conversion (the
columns' own bind processors, e.g. SQLite's dates to text) before the transaction begins.

(A PostgreSQL step writes in place: summed_in_place.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.sql.dml import Insert


@dataclass(frozen=True)
class Prepared:
    """An INSERT of ``table``'s columns ``names``, compiled for ``dialect``."""

    text: str
    order: tuple[str, ...] | None  # the positional parameters' names; None: named ones
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    names: tuple[str, ...]

    @classmethod
    def of(
        cls, statement: Insert, table: Table, names: Sequence[str], dialect: Dialect
    ) -> Prepared:
        """Compile ``statement``, an INSERT into ``table``, for rows of the columns ``names``."""
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        processors = []
        for name in names:
            processor = table.c[name].type.bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        return cls(compiled.string, order, tuple(processors), tuple(names))

    def parameters(self, rows: Sequence[dict[str, Any]]) -> Any:
        """Return the driver's parameters of ``rows`` (dicts of the columns compiled for)."""
        if self.processors:
            rows = [
                {**row, **{name: convert(row[name]) for name, convert in self.processors}}
                for row in rows
            ]
        if self.order is None:
            return list(rows)
        return [tuple(row[name] for name in self.order) for row in rows]

    def run(self, sql: Connection, parameters: Any) -> None:
        """Execute it with ``parameters`` (from ``parameters``), unprocessed."""
        sql.exec_driver_sql(self.text, parameters)
