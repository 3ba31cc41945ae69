"""Many rows written by one statement, their parameters made before the write transaction.

SQLAlchemy turns each row's values into the driver's parameters as it executes; for the
thousands of rows of a rollup step that is most of the time the write lock is held. A
``Prepared`` statement is compiled once, and ``parameters`` does that conversion (the
columns' own bind processors, e.g. SQLite's dates to text) before the transaction begins.

On PostgreSQL the rows go as one array per column, in one statement that unnests them
(``unnested``): one round trip, where an executemany sends a statement per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Connection, Dialect, Select, Table, bindparam, func, select
from sqlalchemy.sql.dml import Insert


def unnested(table: Table, names: Sequence[str]) -> Select[Any]:
    """Return the rows of arrays bound as ``names``, an element of each a row (PostgreSQL)."""
    return select(
        *(
            func.unnest(bindparam(name, type_=ARRAY(table.c[name].type))).label(name)
            for name in names
        )
    )


@dataclass(frozen=True)
class Prepared:
    """An INSERT of ``table``'s columns ``names``, compiled for ``dialect``."""

    text: str
    order: tuple[str, ...] | None  # the positional parameters' names; None: named ones
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    names: tuple[str, ...]
    columnar: bool  # an array per column (from ``unnested``), not a row at a time

    @classmethod
    def of(
        cls, statement: Insert, table: Table, names: Sequence[str], dialect: Dialect
    ) -> Prepared:
        """Compile ``statement`` (an INSERT into ``table``, of ``unnested`` arrays on
        PostgreSQL) for rows of the columns ``names``."""
        columnar = dialect.name == "postgresql"
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        processors = []
        for name in () if columnar else names:
            processor = table.c[name].type.bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        return cls(compiled.string, order, tuple(processors), tuple(names), columnar)

    def parameters(self, rows: Sequence[dict[str, Any]]) -> Any:
        """Return the driver's parameters of ``rows`` (dicts of the columns compiled for)."""
        if self.columnar:
            return {name: [row[name] for row in rows] for name in self.names}
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
