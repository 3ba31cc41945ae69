"""Storage benchmark: bytes per analytics event and rollup row, and per cached payload in Redis.

    .venv/bin/python benchmarks/storage.py [--events N] [--postgresql URL] [--redis URL]
        [--quick]

The figures docs/scaling.md multiplies. In one run this script

1. on PostgreSQL (--postgresql URL, default VSWIDGET_TEST_DATABASE_URL), in a schema of its
   own (`vsw_bench_storage`, created and dropped) and on SQLite (a temporary file): migrates,
   publishes one comparison, seeds N events with benchmarks/dashboard.py's generator (90
   days, 500 host pages, visitor hashes, types weighted like real traffic; COPY on
   PostgreSQL), rolls them up with `analytics.roll_up_all()` (what the product runs), then
   reads each table's size: heap, indexes, total, and bytes per row (PostgreSQL:
   `pg_relation_size`, `pg_indexes_size`, `pg_total_relation_size` after VACUUM FULL, so
   that the rows a rollup rewrote and left dead count no more than SQLite's VACUUM lets them;
   SQLite: the `dbstat` table when compiled in, else the file);
2. on Redis (--redis URL, default VSWIDGET_TEST_REDIS_URL), with vswidget's app using it as
   cache and rate-limit storage: reads the payload of the big and the small comparison
   (benchmarks/fixtures/big-comparison.yaml) in each locale, and sends one event batch, then
   asks Redis `MEMORY USAGE` of each key that made (found by the token or the client address
   in its name, so other users of that Redis are left alone), and deletes those keys;
3. prints the tables and, on full runs (or with --save), saves benchmarks/results/storage.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dashboard
import harness
import inprocess
import record
import writes
from harness import BIG, SMALL, Failed, postgresql_schema
from record import load_average
from sqlalchemy import text

SCHEMA = "vsw_bench_storage"
TABLES = dashboard.TABLES
LOCALES = ("en", "de", "fr", "es")
CLIENT = "198.51.100.77"  # the address the Redis step's requests come from (TEST-NET-2)


@dataclass
class Table:
    name: str
    rows: int
    heap: int  # bytes; for SQLite without dbstat, the whole file
    indexes: int | None
    total: int

    def per_row(self, size: int | None) -> float | None:
        return None if size is None or not self.rows else size / self.rows


@dataclass
class Backend:
    name: str
    tables: list[Table]
    seconds: float  # seeding and rollup
    notes: list[str] = field(default_factory=list)


def seeded(app: Any, path: Path | None, events: int) -> None:
    """Publish the dashboard benchmark's comparison, seed ``events`` and roll them up."""
    from vswidget.schemas import load_comparison
    from vswidget.server import analytics

    document = load_comparison(json.loads(dashboard.EXAMPLE.read_text()))
    comparison_id, _, _ = inprocess.publish(app, dashboard.HANDLE, document)
    generator = dashboard.Generator(comparison_id, [i["key"] for i in document["items"]])
    url = app.config["DATABASE_URL"]
    if path is None:
        dashboard.seed_postgresql(url, generator, events)
    else:
        dashboard.seed_sqlite(path, generator, events)
    with app.app_context():
        analytics.roll_up_all()


def postgresql_tables(url: str, events: int) -> Backend:
    with postgresql_schema(url, SCHEMA) as schema_url:
        started = time.perf_counter()
        with inprocess.app_on(schema_url, CACHE_URL="simple://") as app:
            seeded(app, None, events)
            seconds = time.perf_counter() - started
            with inprocess.connection(app) as connection:
                tables = []
                for name in TABLES:
                    connection.execute(text(f"VACUUM FULL ANALYZE {name}"))
                    rows = connection.execute(text(f"SELECT count(*) FROM {name}")).scalar()
                    heap, indexes, total = connection.execute(
                        text(
                            f"SELECT pg_relation_size('{name}'), pg_indexes_size('{name}'), "
                            f"pg_total_relation_size('{name}')"
                        )
                    ).one()
                    tables.append(Table(name, int(rows or 0), heap, indexes, total))
                id_type = connection.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns WHERE "
                        "table_schema = current_schema() AND table_name = 'events' "
                        "AND column_name = 'id'"
                    )
                ).scalar()
                version = connection.execute(text("SHOW server_version")).scalar()
    notes = [f"server {version}, after VACUUM FULL; `events.id` is `{id_type}`"]
    return Backend("PostgreSQL", tables, seconds, notes)


def sqlite_tables(events: int) -> Backend:
    with dashboard.sqlite_database() as url:
        path = Path(url.removeprefix("sqlite:///"))
        started = time.perf_counter()
        with inprocess.app_on(url, CACHE_URL="simple://") as app:
            seeded(app, path, events)
        seconds = time.perf_counter() - started
        connection = sqlite3.connect(path)
        try:
            connection.execute("VACUUM")
            counts = {
                name: int(connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
                for name in TABLES
            }
            try:
                pages = dict(
                    connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
                )
            except sqlite3.OperationalError:  # dbstat not compiled in
                pages = {}
            indexes: dict[str, list[str]] = {
                name: [
                    row[0]
                    for row in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                        (name,),
                    )
                ]
                for name in TABLES
            }
        finally:
            connection.close()
        file_size = path.stat().st_size
    tables = []
    for name in TABLES:
        if pages:
            heap = int(pages.get(name, 0))
            index = sum(int(pages.get(i, 0)) for i in indexes[name])
            tables.append(Table(name, counts[name], heap, index, heap + index))
        else:
            tables.append(Table(name, counts[name], file_size, None, file_size))
    notes = [f"SQLite {sqlite3.sqlite_version}, after VACUUM"]
    if not pages:
        notes.append("no dbstat: the whole file is given for every table")
    return Backend("SQLite", tables, seconds, notes)


@dataclass
class Cached:
    what: str
    keys: int
    bytes: int  # MEMORY USAGE, summed over the keys
    largest: int  # MEMORY USAGE of the largest key: one cached payload, in one locale
    value: int  # the payload's JSON, bytes, when the keys hold one


def redis_usage(redis_url: str) -> list[Cached]:
    """Return the Redis memory of cached payloads and of one address's rate-limit counters."""
    import redis

    from vswidget import Comparison

    client = redis.Redis.from_url(redis_url)
    found: list[Cached] = []
    with dashboard.sqlite_database() as url:
        config = {"CACHE_URL": redis_url, "RATELIMIT_STORAGE_URL": redis_url}
        with inprocess.app_on(url, **config) as app:
            _, _, key = inprocess.publish(app, "storage", None)
            web = app.test_client()
            web.environ_base["REMOTE_ADDR"] = CLIENT
            auth = {"Authorization": f"Bearer {key}"}
            for comparison in map(Comparison.from_file, (BIG, SMALL)):
                document = comparison.to_dict()
                answer = web.put(
                    f"/api/v1/comparisons/{document['slug']}", json=document, headers=auth
                )
                if answer.status_code not in (200, 201):
                    raise Failed(f"publishing answered {answer.status_code}")
                token = answer.get_json()["embed"]["token"]
                sizes = []
                for locale in LOCALES:
                    read = web.get(f"/v1/payload/{quote(token)}?lang={locale}")
                    if read.status_code != 200:
                        raise Failed(f"GET /v1/payload answered {read.status_code}")
                    sizes.append(len(read.get_data()))
                found.append(
                    measure_keys(
                        client,
                        token,
                        f"{document['slug']}: {len(comparison.items)} items, "
                        f"{len(comparison.panel)} reviewers, {len(LOCALES)} locales",
                        sum(sizes) // len(sizes),
                    )
                )
            batch = writes.event_body(token).encode()
            sent = web.post(
                "/v1/events",
                data=batch,
                headers={"Content-Type": "text/plain", "User-Agent": writes.CHROME},
            )
            if sent.status_code != 204:
                raise Failed(f"POST /v1/events answered {sent.status_code}")
            found.append(measure_keys(client, CLIENT, "rate-limit counters of one address", 0))
    return found


def measure_keys(client: Any, needle: str, what: str, value: int) -> Cached:
    """Sum MEMORY USAGE over the keys whose name holds ``needle``; delete them."""
    keys = [k for k in client.scan_iter(match=f"*{needle}*", count=1000)]
    sizes = [int(client.memory_usage(k, samples=0) or 0) for k in keys]
    if keys:
        client.delete(*keys)
    return Cached(what, len(keys), sum(sizes), max(sizes, default=0), value)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000, help="events to seed (300,000)")
    parser.add_argument("--quick", action="store_true", help="10,000 events")
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    parser.add_argument("--redis", default=os.environ.get("VSWIDGET_TEST_REDIS_URL"))
    harness.save_option(parser)
    args = harness.checked(parser, parser.parse_args())
    if args.quick:
        args.events = 10_000
    if not 1_000 <= args.events <= 10_000_000:
        parser.error("use 1,000..10,000,000 events")
    loads_start = load_average()
    backends = []
    if args.postgresql:
        print(f"PostgreSQL: seeding {args.events:,} events", flush=True)
        backends.append(postgresql_tables(args.postgresql, args.events))
    else:
        print("PostgreSQL skipped: give --postgresql URL or VSWIDGET_TEST_DATABASE_URL")
    print(f"SQLite: seeding {args.events:,} events", flush=True)
    backends.append(sqlite_tables(args.events))
    rows = [
        [b.name, t.name, t.rows, t.heap, t.indexes, t.total]
        + [t.per_row(t.heap), t.per_row(t.indexes), t.per_row(t.total)]
        for b in backends
        for t in b.tables
    ]
    columns = [("database", None), ("table", None), ("rows", 0), ("heap bytes", 0)]
    columns += [("index bytes", 0), ("total bytes", 0), ("bytes/row: heap", 0)]
    columns += [("indexes", 0), ("total", 0)]
    tables = {"tables": record.table(columns, rows)}
    if args.redis:
        cached = redis_usage(args.redis)
        columns = [("what", None), ("keys", 0), ("bytes in Redis, all keys", 0)]
        columns += [("largest key", 0), ("payload JSON bytes", 0)]
        rows = [[c.what, c.keys, c.bytes, c.largest, c.value or None] for c in cached]
        tables["redis"] = record.table(columns, rows)
    else:
        print("Redis skipped: give --redis URL or VSWIDGET_TEST_REDIS_URL")
    notes = {b.name: b.notes for b in backends}
    loads = (loads_start, load_average())
    record.report("storage", loads, tables, args.save, events=args.events, **notes)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "storage.py")
