"""Rollup lag benchmark: how far behind the events the dashboard's figures run while events
keep arriving.

    .venv/bin/python benchmarks/rollup_lag.py [--rate 10000] [--duration 120]
        [--events 10000000] [--postgresql URL] [--backends postgresql] [--quick]

For each backend (PostgreSQL by default: --postgresql URL or VSWIDGET_TEST_DATABASE_URL, in
a schema of its own, `vsw_bench_lag`, created and dropped here; `--backends sqlite,postgresql`
adds SQLite, a file in a temporary folder), this script

1. migrates the database, publishes four comparisons, seeds --events events (10,000,000)
   over the 30 days that end today with rollups.py's generator, and rolls them all up, as
   on a server whose rollups kept up;
2. starts a feeder, a process of its own as the ingesting workers are, that stores --rate
   events a second (10,000) of today for --duration seconds (120): a chunk every 100 ms,
   generated fresh (new and returning readers, 500 host pages, sources and devices), each
   event's `created_at` the moment it is stored; on PostgreSQL by COPY, on SQLite in one
   transaction a chunk;
3. runs, in this process, the server's own maintenance job on the server's schedule:
   `jobs.maintain` (the rollup steps for at most a period, then the prune) started by
   `jobs.every` every `ROLLUP_SECONDS` (10 s);
4. samples every 0.5 s how old the oldest event not counted yet is: now minus the
   `created_at` of the first event after the rollup cursor, 0 when there is none. That is
   how far the dashboard's figures are behind the events;
5. prints per backend the rate asked and stored, the rounds, the rollup's pace while it
   ran (event ids counted per second of rounds), and the lag's median, p90 and longest,
   leaving out the first two periods (the start); full runs (or --save) save
   benchmarks/results/rollup_lag.json.

This is the rollup's side only: the feeder stores events straight into the database, not
through HTTP (docs/performance.md's writes benchmark measures ingestion). --quick: 200,000
events seeded, 2,000 events a second for 30 s. Every process, folder and schema it makes is
gone at the end, also on error and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dashboard
import harness
import inprocess
import record
import rollups
from record import load_average, percentile
from render import markdown

PG_SCHEMA = "vsw_bench_lag"
TICK = 0.1  # seconds between the feeder's chunks
SAMPLE_EVERY = 0.5  # seconds between lag samples
log = dashboard.log


# -- the feeder -----------------------------------------------------------------------------


def feed(url: str, ids: list[int], items: list[str], rate: int, seconds: float, out: Any) -> None:
    """Store ``rate`` events a second for ``seconds``, a chunk every TICK; put how many
    were stored on ``out``. Runs in a process of its own."""
    generator = rollups.Backlog(ids, items, 11)
    at = generator.columns.index("created_at")
    chunk = max(1, round(rate * TICK))
    stored, started = 0, time.monotonic()
    with _writer(url, generator.columns) as write:
        while (elapsed := time.monotonic() - started) < seconds:
            due = round(rate * elapsed)  # stay on the rate, whatever a chunk took
            if stored >= due:
                time.sleep(min(TICK, (stored - due + chunk) / rate))
                continue
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            rows = generator.day_rows(now.date(), chunk)
            stamp = now.isoformat(sep=" ")
            write([(*row[:at], stamp, *row[at + 1 :]) for row in rows])
            stored += chunk
    out.put(stored)


@contextmanager
def _writer(url: str, columns: tuple[str, ...]) -> Iterator[Any]:
    """Yield what stores rows of ``columns`` in one transaction a call."""
    names = ", ".join(columns)
    if url.startswith("sqlite"):
        import sqlite3

        sqlite = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        marks = ", ".join("?" for _ in columns)

        def write_sqlite(rows: list[tuple[Any, ...]]) -> None:
            sqlite.execute("BEGIN IMMEDIATE")
            sqlite.executemany(f"INSERT INTO events ({names}) VALUES ({marks})", rows)
            sqlite.execute("COMMIT")

        try:
            yield write_sqlite
        finally:
            sqlite.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as pg:

        def write_postgresql(rows: list[tuple[Any, ...]]) -> None:
            with pg.cursor() as cursor, cursor.copy(f"COPY events ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            pg.commit()

        yield write_postgresql


# -- the run --------------------------------------------------------------------------------


@dataclass
class Trial:
    backend: str
    events: int
    rate: int
    duration: float
    stored: int = 0
    rounds: list[tuple[float, int]] = field(default_factory=list)  # seconds, ids counted
    lags: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds behind)
    period: float = 0.0
    load: str = ""


def run_trial(backend: str, url: str, args: Any) -> Trial:
    from sqlalchemy import select

    from vswidget.schemas import load_comparison
    from vswidget.server import analytics, jobs
    from vswidget.server.analytics.increments import cursor
    from vswidget.server.extensions import db
    from vswidget.server.models import events

    trial = Trial(backend, args.events, args.rate, args.duration)
    with inprocess.app_on(url, CACHE_URL="simple://") as app:
        trial.period = float(app.config["ROLLUP_SECONDS"])
        document = load_comparison(json.loads(dashboard.EXAMPLE.read_text()))
        ids = [
            inprocess.publish(app, f"{dashboard.HANDLE}{n}", document)[0]
            for n in range(rollups.COMPARISONS)
        ]
        items = [item["key"] for item in document["items"]]
        log(f"[{backend}] seeding {args.events:,} events (load {load_average()})")
        path = Path(url.removeprefix("sqlite:///")) if backend == "sqlite" else None
        rollups.seed(url, path, rollups.Mixed(ids, items, 6), args.events)
        with app.app_context():
            analytics.roll_up_all()

        def counted_round() -> None:
            with app.app_context():
                before = cursor(db.connection)
                began = time.monotonic()
                jobs.maintain()
                ended = time.monotonic()
                trial.rounds.append((ended - began, cursor(db.connection) - before))

        oldest = select(events.c.created_at).order_by(events.c.id).limit(1)
        stop = threading.Event()

        def sample() -> None:
            with app.app_context():
                while not stop.wait(SAMPLE_EVERY):
                    first = oldest.where(events.c.id > cursor(db.connection))
                    created = db.connection.scalar(first)
                    db.connection.commit()  # the next sample reads what is committed then
                    now = datetime.datetime.now(datetime.UTC)
                    lag = 0.0 if created is None else (now - created).total_seconds()
                    trial.lags.append((time.monotonic(), max(0.0, lag)))

        spawn = multiprocessing.get_context("spawn")
        out = spawn.Queue()
        feeder = spawn.Process(
            target=feed, args=(url, ids, items, args.rate, args.duration, out), daemon=True
        )
        rounds = threading.Thread(
            target=jobs.every, args=(lambda: trial.period, counted_round, stop.wait), daemon=True
        )
        sampler = threading.Thread(target=sample, daemon=True)
        log(f"[{backend}] feeding {args.rate:,} events/s for {args.duration:.0f} s")
        started = time.monotonic()
        feeder.start()
        rounds.start()
        sampler.start()
        try:
            trial.stored = out.get(timeout=args.duration + 120)
        finally:
            feeder.join(30)
            if feeder.is_alive():
                feeder.kill()
            stop.set()
            rounds.join()
            sampler.join()
        skip = started + 2 * trial.period
        trial.lags = [(at, lag) for at, lag in trial.lags if at >= skip]
        trial.load = load_average()
    if not trial.lags or not trial.rounds:
        raise harness.Failed(f"{backend}: no lag sampled or no rollup round ran")
    return trial


def tables(trials: list[Trial]) -> dict[str, Any]:
    columns = [("backend", None), ("events stored", 0), ("rate asked", 0)]
    columns += [("rate stored", 0), ("rounds", 0), ("rollup events/s", 0)]
    columns += [("lag p50 s", 1), ("lag p90 s", 1), ("lag longest s", 1), ("load after", None)]
    rows = []
    for t in trials:
        busy = sum(seconds for seconds, _ in t.rounds)
        lags = [lag for _, lag in t.lags]
        rows.append(
            [t.backend, t.events, t.rate, t.stored / t.duration, len(t.rounds)]
            + [sum(n for _, n in t.rounds) / busy if busy else 0.0]
            + [percentile(lags, 50), percentile(lags, 90), max(lags), t.load]
        )
    return {"lag": record.table(columns, rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events seeded")
    parser.add_argument("--rate", type=int, default=10_000, help="events stored a second")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of feeding")
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    parser.add_argument("--backends", default="postgresql")
    parser.add_argument("--quick", action="store_true", help="200,000 events, 2,000/s for 30 s")
    harness.save_option(parser)
    args = harness.checked(parser, parser.parse_args())
    if args.quick:
        args.events, args.rate, args.duration = 200_000, 2_000, 30.0
    if not (1_000 <= args.events <= 20_000_000 and 10 <= args.rate <= 50_000):
        parser.error("use 1,000..20,000,000 events and a rate of 10..50,000 events a second")
    if not 20 <= args.duration <= 600:
        parser.error("use 20..600 seconds of --duration")
    loads_start = load_average()
    trials: list[Trial] = []
    chosen, skipped = harness.backends(args)
    for backend in chosen:
        with dashboard.database(backend, args.postgresql, PG_SCHEMA) as url:
            trials.append(run_trial(backend, url, args))
        print(markdown(tables(trials[-1:])["lag"]), flush=True)
    if not trials:
        return 1
    settings = {"rate": args.rate, "duration_s": args.duration, "skipped": skipped}
    loads = (loads_start, load_average())
    record.report("rollup_lag", loads, tables(trials), args.save, settings=settings)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "rollup_lag.py")
