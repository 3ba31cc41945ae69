"""Rollup benchmark: how long a vote waits while the incremental rollup counts a backlog.

    .venv/bin/python benchmarks/rollups.py [--events 10000000] [--backlog 100000]
        [--postgresql URL] [--backends sqlite,postgresql] [--baseline SECONDS] [--quick]

For each backend (SQLite: a file in a temporary folder; PostgreSQL: --postgresql URL or
the variable VSWIDGET_TEST_DATABASE_URL, in a schema of its own, `vsw_bench_rollups`,
created and dropped here), this script

1. migrates the database, publishes four comparisons and seeds --events events (10,000,000)
   over the 30 days that end today with benchmarks/dashboard.py's generator (500 host
   pages on 200 sites, 200,000 visitors, types weighted like real traffic, referrers),
   each event of one of the four comparisons and with a device class and browser family,
   in bulk (SQLite: executemany, a transaction a day; PostgreSQL: COPY, then ANALYZE);
2. rolls them all up (`analytics.roll_up_all()`), so the cursor stands at the newest
   event, as on a server whose rollups kept up;
3. adds --backlog fresh events of today (100,000: what 10,000 events a second bring in one
   ROLLUP_SECONDS period of 10 s, all that one round of the job counts), in the same way;
4. starts a voter, a process of its own as another gunicorn worker is, which casts a new
   reader's vote through `store.cast_vote` (what POST /v1/votes runs) every 10 ms and times
   each. For --baseline seconds (10; 3 with --quick) it votes alone: the baseline. Then this
   process counts the backlog with `analytics.roll_up_recent()` (what the job runs), timing
   each step's write transaction (from its start, once it has the write lock, to its
   commit), while the voter goes on; the voter stops a second after the rollup ends;
5. prints per backend the votes' p50, p99 and longest time alone and during the rollup,
   and the rollup's events a second, steps and write transactions; full runs (or --save)
   save benchmarks/results/rollups.json.

--quick: 200,000 events and a backlog of 20,000. The temporary folder, the PostgreSQL
schema and the voter are gone at the end, also on error and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import tempfile
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
from harness import postgresql_schema
from record import load_average, percentile
from render import markdown

PG_SCHEMA = "vsw_bench_rollups"
COMPARISONS = 4
DAYS = 30
DEVICES = ("phone", "phone", "desktop", "desktop", "desktop", "tablet", "other", None)
BROWSERS = ("chrome", "chrome", "chrome", "safari", "safari", "firefox", "edge", "samsung")
VOTE_EVERY = 0.01  # seconds between the voter's votes
VOTER_SECONDS = 3600  # the voter stops by then whatever happens
log = dashboard.log


class Mixed(dashboard.Generator):
    """dashboard.py's events over DAYS days, of several comparisons, with user agent classes."""

    def __init__(self, comparison_ids: list[int], item_keys: list[str], seed: int) -> None:
        super().__init__(comparison_ids[0], item_keys, seed)
        self.comparison_ids = comparison_ids
        self.columns = (*dashboard.COLUMNS, "device", "browser")

    def days(self) -> list[datetime.date]:
        return super().days()[-DAYS:]

    def day_rows(self, day: datetime.date, count: int) -> list[tuple[Any, ...]]:
        rows = super().day_rows(day, count)
        ids = self.rng.choices(self.comparison_ids, k=count)
        devices = self.rng.choices(DEVICES, k=count)
        browsers = self.rng.choices(BROWSERS, k=count)
        return [
            (cid, *row[1:], device, browser if device else None)
            for cid, row, device, browser in zip(ids, rows, devices, browsers, strict=True)
        ]


class Backlog(Mixed):
    """Fresh events, all of today."""

    def days(self) -> list[datetime.date]:
        return super().days()[-1:]


def seed(url: str, path: Path | None, generator: dashboard.Generator, total: int) -> None:
    if path is None:
        dashboard.seed_postgresql(url, generator, total)
    else:
        dashboard.seed_sqlite(path, generator, total)


# -- the voter ------------------------------------------------------------------------------


def vote(url: str, comparison_id: int, item: str, ready: Any, stop: Any, out: str) -> None:
    """Cast a new reader's vote every VOTE_EVERY seconds until ``stop``; save (start, seconds)
    of each vote to ``out``. Runs in a process of its own."""
    from vswidget.server import store

    times = []
    with inprocess.app_on(url) as app, app.app_context():
        store.cast_vote(comparison_id, item, "bench-voter-warmup")
        ready.set()
        ends = time.monotonic() + VOTER_SECONDS
        while not stop.is_set() and time.monotonic() < ends:
            started = time.monotonic()
            store.cast_vote(comparison_id, item, f"bench-voter-{len(times)}")
            times.append((started, time.monotonic() - started))
            stop.wait(VOTE_EVERY)
    Path(out).write_text(json.dumps(times))


@contextmanager
def voter(url: str, comparison_id: int, item: str, folder: Path) -> Iterator[Any]:
    """Run the voter; yield the event that stops it; the votes are in folder/votes.json."""
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    out = str(folder / "votes.json")
    process = spawn.Process(target=vote, args=(url, comparison_id, item, ready, stop, out))
    process.start()
    try:
        if not ready.wait(120):
            raise harness.Failed("the voter did not start within 120 s")
        yield stop
    finally:
        stop.set()
        process.join(60)
        if process.is_alive():
            process.kill()
            process.join()


# -- the run --------------------------------------------------------------------------------


@dataclass
class Trial:
    backend: str
    events: int
    backlog: int
    seed_s: float = 0.0
    rollup_s: float = 0.0
    counted: int = 0
    writes: list[float] = field(default_factory=list)  # seconds of each step's transaction
    alone: list[float] = field(default_factory=list)  # seconds of each vote
    during: list[float] = field(default_factory=list)
    load: str = ""


@contextmanager
def timed_writes(into: list[float]) -> Iterator[None]:
    """Time every write transaction of this process's app contexts, lock wait excluded."""
    from vswidget.server.extensions import db

    writing = db.writing

    @contextmanager
    def timed() -> Iterator[Any]:
        with writing() as sql:
            started = time.perf_counter()
            yield sql
        into.append(time.perf_counter() - started)

    db.writing = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        del db.writing


def run_trial(backend: str, url: str, folder: Path, args: Any) -> Trial:
    from vswidget.schemas import load_comparison
    from vswidget.server import analytics

    trial = Trial(backend, args.events, args.backlog)
    path = folder / "vswidget.sqlite3" if backend == "sqlite" else None
    with inprocess.app_on(url, CACHE_URL="simple://") as app:
        document = load_comparison(json.loads(dashboard.EXAMPLE.read_text()))
        ids = []
        for n in range(COMPARISONS):
            cid, _, _ = inprocess.publish(app, f"{dashboard.HANDLE}{n}", document)
            ids.append(cid)
        items = [item["key"] for item in document["items"]]
        log(f"[{backend}] seeding {args.events:,} events (load {load_average()})")
        started = time.perf_counter()
        seed(url, path, Mixed(ids, items, 6), args.events)
        trial.seed_s = time.perf_counter() - started
        log(f"[{backend}] seeded in {trial.seed_s:.0f} s; rolling them all up")
        with app.app_context():
            analytics.roll_up_all()
        log(f"[{backend}] adding a backlog of {args.backlog:,} events")
        seed(url, path, Backlog(ids, items, 7), args.backlog)

        with voter(url, ids[0], items[0], folder) as stop:
            time.sleep(args.baseline)
            log(f"[{backend}] rolling up the backlog (load {load_average()})")
            with app.app_context(), timed_writes(trial.writes):
                began = time.monotonic()
                trial.counted = analytics.roll_up_recent()
                ended = time.monotonic()
            trial.rollup_s = ended - began
            time.sleep(1)
            stop.set()
        trial.load = load_average()
    votes = json.loads((folder / "votes.json").read_text())
    trial.alone = [seconds for at, seconds in votes if at + seconds < began]
    trial.during = [seconds for at, seconds in votes if began <= at + seconds and at <= ended]
    if trial.counted != args.backlog or not trial.alone or not trial.during:
        raise harness.Failed(
            f"{backend}: counted {trial.counted:,} of {args.backlog:,} events, with "
            f"{len(trial.alone)} votes alone and {len(trial.during)} during the rollup"
        )
    return trial


def ms(values: list[float], q: float) -> float:
    return 1000 * percentile(values, q)


def tables(trials: list[Trial]) -> dict[str, Any]:
    columns = [("backend", None), ("events stored", 0), ("votes", None), ("votes timed", 0)]
    columns += [("p50", 1), ("p99", 1), ("longest", 1)]
    votes = [
        [t.backend, t.events, phase, len(times), ms(times, 50), ms(times, 99), ms(times, 100)]
        for t in trials
        for phase, times in (("alone (baseline)", t.alone), ("during the rollup", t.during))
    ]
    columns_2 = [("backend", None), ("events stored", 0), ("backlog counted", 0)]
    columns_2 += [("seconds", 1), ("events/s", 0), ("steps", 0), ("write tx p50 ms", 1)]
    columns_2 += [("p99 ms", 1), ("longest ms", 1), ("load average after", None)]
    rollup = [
        [t.backend, t.events, t.counted, t.rollup_s, t.counted / t.rollup_s, len(t.writes)]
        + [ms(t.writes, 50), ms(t.writes, 99), ms(t.writes, 100), t.load]
        for t in trials
    ]
    return {
        "votes": record.table(columns, votes),
        "rollup": record.table(columns_2, rollup),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events seeded")
    parser.add_argument("--backlog", type=int, default=100_000, help="fresh events to count")
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--baseline", type=float, help="seconds of votes alone (10; 3 quick)")
    parser.add_argument("--quick", action="store_true", help="200,000 events, backlog 20,000")
    harness.save_option(parser)
    args = harness.checked(parser, parser.parse_args())
    if args.quick:
        args.events, args.backlog = 200_000, 20_000
    args.baseline = args.baseline or (3.0 if args.quick else 10.0)
    if not (1_000 <= args.events <= 20_000_000 and 1_000 <= args.backlog <= 5_000_000):
        parser.error("use 1,000..20,000,000 events and a backlog of 1,000..5,000,000")
    if not 1 <= args.baseline <= 120:
        parser.error("use 1..120 seconds of --baseline")
    loads_start = load_average()
    trials: list[Trial] = []
    chosen, skipped = harness.backends(args)
    for backend in chosen:
        with tempfile.TemporaryDirectory(prefix="vsw-bench-rollups-") as name:
            folder = Path(name)
            if backend == "sqlite":
                url = f"sqlite:///{folder}/vswidget.sqlite3"
                trials.append(run_trial(backend, url, folder, args))
            else:
                with postgresql_schema(args.postgresql, PG_SCHEMA) as url:
                    trials.append(run_trial(backend, url, folder, args))
        print(markdown(tables(trials[-1:])["votes"]), flush=True)
    if not trials:
        return 1
    settings = {"backlog": args.backlog, "baseline_s": args.baseline, "skipped": skipped}
    loads = (loads_start, load_average())
    record.report("rollups", loads, tables(trials), args.save, settings=settings)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "rollups.py")
