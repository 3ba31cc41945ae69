"""Publish "SQLite vs PostgreSQL" from Python and print its embed snippet.

    export VSWIDGET_URL=http://127.0.0.1:8000 VSWIDGET_API_KEY=vsw_...
    python examples/publish.py

``build()`` returns the same comparison as
``examples/comparisons/sqlite-vs-postgresql.yaml``; importing this file publishes
nothing.
"""

from __future__ import annotations

import os
import sys

from vswidget import Client, Comparison, Item, Newsletter, Reviewer, Verdict, VSWidgetError


def build() -> Comparison:
    """Return the SQLite vs PostgreSQL comparison."""
    sqlite = Item(
        key="sqlite",
        name="SQLite",
        category="Embedded database",
        tagline="The whole database is one file, read and written inside your app's own process",
        description=(
            "SQLite is a C library that stores a complete SQL database in an ordinary "
            "file, so there is no server to install, configure or keep running. It is "
            "in the public domain, comes with Python and most operating systems, and in "
            "WAL mode lets readers carry on while one writer commits."
        ),
        price="Free (public domain)",
        url="https://sqlite.org/",
    )
    postgresql = Item(
        key="postgresql",
        name="PostgreSQL",
        category="Database server",
        tagline="A full database server with strict types, extensions and many concurrent writers",
        description=(
            "PostgreSQL is an open-source database server that your app reaches over a "
            "network connection, with its own process, users and permissions. It lets "
            "many clients write at once, enforces types and constraints, and adds JSONB, "
            "full-text search and extensions such as PostGIS and pgvector. You can run "
            "it yourself at no cost or pay a managed host to run it for you."
        ),
        price="Free; managed hosting extra",
        url="https://www.postgresql.org/",
    )
    panel = [
        Reviewer(
            name="The Solo Builder",
            lens="One developer, one small server, weekends only",
            verdicts={
                "sqlite": Verdict.ship(
                    "Nothing to install, nothing to keep alive, and every test run gets a "
                    "fresh database file in milliseconds. For an app on one machine, it is "
                    "the shortest path to shipping."
                ),
                "postgresql": Verdict.skip(
                    "A great database, but one more service to provision, secure and "
                    "upgrade. I would rather spend that evening on features until the "
                    "users ask for more."
                ),
            },
        ),
        Reviewer(
            name="The Operator",
            lens="Backups, restores and upgrades",
            verdicts={
                "sqlite": Verdict.ship(
                    "Back it up with VACUUM INTO or the online backup API rather than "
                    "copying the file mid-write, and rehearse the restore. Tools such as "
                    "Litestream can stream every change to object storage."
                ),
                "postgresql": Verdict.ship(
                    "pg_dump and point-in-time recovery are mature and well documented, and "
                    "managed hosts automate both. Plan ahead for major-version upgrades, "
                    "which need pg_upgrade or a dump and restore."
                ),
            },
        ),
        Reviewer(
            name="The Data Modeler",
            lens="Types, constraints and migrations",
            verdicts={
                "sqlite": Verdict.skip(
                    "A column takes values of other types unless the table is declared "
                    "STRICT, and ALTER TABLE cannot change a column's type, so many "
                    "migrations mean rebuilding the table. Workable, but the guard rails "
                    "are yours to add."
                ),
                "postgresql": Verdict.ship(
                    "Real types, enforced foreign keys and CHECK constraints, and schema "
                    "changes that run inside a transaction, so a failed migration leaves "
                    "nothing half done. JSONB covers the fields you have not modeled yet."
                ),
            },
        ),
        Reviewer(
            name="The Scaler",
            lens="What happens if it takes off",
            verdicts={
                "sqlite": Verdict.skip(
                    "Writes are serialized and the file lives on one machine's disk, so a "
                    "second app server or a separate worker host needs another plan. Many "
                    "side projects never get there, but moving later is a real migration."
                ),
                "postgresql": Verdict.ship(
                    "Several app servers and background workers can write at once, and "
                    "read replicas and connection poolers are standard practice. Start "
                    "here and the database is unlikely to be what forces a rewrite."
                ),
            },
        ),
    ]
    return Comparison(
        slug="sqlite-vs-postgresql",
        kicker="Database comparison",
        title="SQLite vs PostgreSQL",
        question="Which database should your side project ship with?",
        items=[sqlite, postgresql],
        panel=panel,
        cta=Newsletter(
            headline="Side-project stack picks",
            text="One head-to-head a week, with the panel's verdicts and where they split.",
            label="Subscribe",
        ),
    )


def main() -> None:
    url = os.environ.get("VSWIDGET_URL", "http://127.0.0.1:8000")
    api_key = os.environ.get("VSWIDGET_API_KEY") or sys.exit(
        "publish.py: Set VSWIDGET_API_KEY to your API key: "
        "`vswidget publisher create HANDLE` prints one."
    )
    comparison = build().validate()  # offline, with the server's own schema
    try:
        with Client(url, api_key) as client:
            published = client.publish(comparison)
    except VSWidgetError as error:
        sys.exit(f"publish.py: {error.message}")
    print(published.snippet)


if __name__ == "__main__":
    main()
