"""The last 30 minutes benchmark: reading the newest raw events of one busy day.

    .venv/bin/python benchmarks/live.py [--size 1000000] [--postgresql URL]
        [--backends sqlite,postgresql] [--repeat N] [--quick] [--save]

The dashboard's "last 30 minutes" and `GET .../stats/live` read `events` by `created_at`
(analytics/trends.py). The worst case is a comparison whose events are all today, so this
script seeds N events (default 1,000,000) of one comparison, all dated today, their times
spread over the day's 1,440 minutes (dashboard.py's generator: 500 host pages, 200,000
visitor hashes), on SQLite (a temporary file) and PostgreSQL (--postgresql URL or
VSWIDGET_TEST_DATABASE_URL, in the schema `vsw_bench_live`, created and dropped here).
Then it times in process, side by side in each round: the baseline `SELECT 1`, and
`analytics.windows_of` for 30 minutes up to 23:59 (the two windows hold about 4 % of the
day's rows); then it inserts 50,000 more events through `store.add_events` (one batch, as
ingestion writes), timed, at midnight (out of both windows), and deletes them. It does all
that with the index (comparison_id, created_at) of migration 0014, then drops the index
and does it again: what reading through the (comparison_id, day) index costs, and what the
index costs ingestion. Median and p90 of the reads, the ratio of the medians.
--quick: 100,000 events, 5 rounds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import harness
import inprocess
import record
from dashboard import EXAMPLE, Generator, database, quantile, seed_postgresql, seed_sqlite
from record import load_average

PG_SCHEMA = "vsw_bench_live"
MINUTES = 30
INDEX = "ix_events_comparison_created"
INSERTED = 50_000


class OneDay(Generator):
    """Every event on today."""

    def days(self) -> list[datetime.date]:
        return [datetime.datetime.now(datetime.UTC).date()]

    def plan(self, total: int) -> Any:
        yield self.days()[0], total


def trial(backend: str, url: str, size: int, repeat: int) -> list[list[Any]]:
    """Seed, then time SELECT 1 and the window side by side, and inserting INSERTED events,
    with the (comparison_id, created_at) index and without it; return two table rows."""
    from sqlalchemy import delete, text

    from vswidget.schemas import load_comparison
    from vswidget.server import analytics, store
    from vswidget.server.extensions import db
    from vswidget.server.models import events

    rows = []
    with inprocess.app_on(url) as app:
        document = load_comparison(json.loads(EXAMPLE.read_text()))
        comparison_id, _, _ = inprocess.publish(app, "bench", document)
        generator = OneDay(comparison_id, [item["key"] for item in document["items"]])
        if backend == "sqlite":
            seed_sqlite(Path(url.removeprefix("sqlite:///")), generator, size)
        else:
            seed_postgresql(url, generator, size)
        today = generator.days()[0]
        until = datetime.datetime.combine(today, datetime.time(23, 59), datetime.UTC)
        midnight = datetime.datetime.combine(today, datetime.time(0, 0), datetime.UTC)
        columns = "comparison_id type item_key origin path referrer day visitor".split()
        batch = [
            dict(zip(columns, row[:-1], strict=True)) | {"day": today, "created_at": midnight}
            for row in generator.day_rows(today, INSERTED)
        ]
        with app.app_context():
            for index in (True, False):
                if not index:
                    with db.writing() as sql:
                        sql.execute(text(f"DROP INDEX {INDEX}"))
                baseline, window = [], []
                for _ in range(repeat + 1):  # the first round warms the caches
                    started = time.perf_counter()
                    db.connection.execute(text("SELECT 1")).one()
                    baseline.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    found = analytics.windows_of([comparison_id], until, MINUTES)[comparison_id]
                    window.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                store.add_events(batch)
                inserted = time.perf_counter() - started
                with db.writing() as sql:  # out of both windows; and gone for the next round
                    sql.execute(delete(events).where(events.c.created_at == midnight))
                base, median = statistics.median(baseline[1:]), statistics.median(window[1:])
                rows.append(
                    [
                        backend,
                        size,
                        "yes" if index else "no",
                        f"{base:.2f} ms",
                        f"{median:.1f} ms",
                        f"{quantile(window[1:], 0.9):.1f} ms",
                        median / base,
                        found.totals.impressions + found.previous.impressions,
                        f"{INSERTED / inserted:,.0f}/s",
                    ]
                )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="100,000 events, 5 rounds")
    harness.save_option(parser)
    args = harness.checked(parser, parser.parse_args())
    if args.quick:
        args.size, args.repeat = 100_000, 5
    size, repeat = max(1, min(args.size, 10_000_000)), max(1, min(args.repeat, 1000))
    loads_start = load_average()
    rows = []
    chosen, skipped = harness.backends(args)
    for reason in skipped:
        print(f"skipped: {reason}; give it, or set VSWIDGET_TEST_DATABASE_URL")
    for backend in chosen:
        with database(backend, args.postgresql, PG_SCHEMA) as url:
            rows += trial(backend, url, size, repeat)
    columns = [
        ("backend", None),
        ("events today", 0),
        ("index (comparison_id, created_at)", None),
        ("SELECT 1 median", None),
        (f"last {MINUTES} min median", None),
        (f"last {MINUTES} min p90", None),
        ("÷ SELECT 1", 0),
        ("impressions in both windows", 0),
        (f"inserting {INSERTED:,} events", None),
    ]
    tables = {"window": record.table(columns, rows)}
    record.report("live", (loads_start, load_average()), tables, args.save, repeat=repeat)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "live.py")
