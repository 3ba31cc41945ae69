"""Dashboard and stats benchmark: the comparison page and the stats API as events grow.

    .venv/bin/python benchmarks/dashboard.py [--sizes 1000000,10000000] [--postgresql URL]
        [--repeat N] [--backends sqlite,postgresql] [--postgresql-sizes 1000000] [--quick]

For each size and backend (SQLite: a file in a temporary folder; PostgreSQL: --postgresql URL
or the variable VSWIDGET_TEST_DATABASE_URL, in a schema of its own, `vsw_bench_dash`, created
and dropped here; the public schema is never touched), this script

1. migrates the database (`vswidget.server.migrations.upgrade`), creates a publisher and one
   comparison (examples/comparisons/three-static-site-generators.json) through
   `vswidget.server.store`, and sets the publisher's dashboard password;
2. generates N events, in day order over the 90 days that end today, on 500 host pages
   (200 sites, https://blog-NNN.example, paths /posts/...; page popularity skewed), types
   weighted like real traffic (impressions 60 %, views 30 %, clicks 6 %, votes 3 %,
   sign-ups 1 %), an item key on votes and clicks, visitor hashes from a pool of 200,000,
   and inserts them in bulk: SQLite with the sqlite3 module, executemany in one transaction
   a day with PRAGMA synchronous=OFF (seeding only); PostgreSQL with COPY (psycopg's
   `cursor.copy()`), then ANALYZE, as autovacuum would after such a load;
3. rolls them up with `vswidget.server.analytics.roll_up_all()` (what the product runs), timed;
4. times in process, with Flask's test client (server time, no network), after a dashboard
   login (password, CSRF token from the login form): GET /dashboard/c/SLUG?days=30 and
   ?days=90, and GET /api/v1/comparisons/SLUG/stats for 30 and 90 days with an API key;
   side by side in the same loop, the baseline GET /healthz (one `SELECT 1`), timed the same
   way. `analytics.pages()` is cached (simple:// cache) until the next rollup, so each
   request is timed twice in a row: **cold**, with nothing cached (just before it, outside
   the timed section, the whole cache is emptied: `cache.clear()`; that is also what the
   first read after a rollup finds for its report), then **warm**, the same read again
   within that rollup period (the cache hit). The baseline gets the same treatment.
   `--warmup` rounds first, then `--repeat` rounds; median and p90 of each, the ratio of each
   median to the baseline's median, and how many timed requests computed the page sums
   (`analytics.host_pages._pages`, counted) — every cold one and no warm one, or the run fails;
5. times the analytics queries behind the 90-day page alone (series, pages cold and warm,
   item_series), the page sums of a ragged 88-day range (from the 2nd to the 89th day of
   the events: days with events on both sides, so its edges are read day by day) and of the
   90 days from the daily rows alone (what the page sums fall back to if a rollup lands
   while they are summed), and `analytics.roll_up_recent()`,
   the job every ROLLUP_SECONDS, to show where the time goes;
6. prints the tables and, on full runs (or with --save), saves benchmarks/results/dashboard.json.
   --quick: 100,000 events on each backend, 5 rounds.

Every temporary folder and the PostgreSQL schema are deleted on success, error and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import inprocess
import record
from harness import ROOT, postgresql_schema
from record import load_average
from render import markdown

EXAMPLE = ROOT / "examples" / "comparisons" / "three-static-site-generators.json"
PG_SCHEMA = "vsw_bench_dash"
HANDLE = "bench"
PASSWORD = "bench-password-123"
DAYS = 90
SITES = 200
PAGES = 500
VISITOR_POOL = 200_000
TYPES = ("impression", "view", "click", "vote", "signup")
WEIGHTS = (60, 30, 6, 3, 1)
WITH_ITEM = {"vote", "click"}
REFERRERS = (None, None, "www.google.com", "news.ycombinator.com", "t.co", "duckduckgo.com")
GOAL_MS = {1_000_000: 50.0, 10_000_000: 200.0}
TABLES = ("events", "daily_totals", "daily_pages", "period_pages", "daily_items")
COLUMNS = (  # of the events the generator makes, in the order of its rows
    "comparison_id",
    "type",
    "item_key",
    "origin",
    "path",
    "referrer",
    "day",
    "visitor",
    "created_at",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- event generation -------------------------------------------------------------------


@dataclass
class Generator:
    comparison_id: int
    item_keys: list[str]
    seed: int = 6
    rng: random.Random = field(init=False)
    columns: tuple[str, ...] = field(init=False, default=COLUMNS)  # of the rows it makes

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.pages = [
            (f"https://blog-{n % SITES:03d}.example", f"/posts/{n:03d}-a-post-about-tools")
            for n in range(PAGES)
        ]
        weights = [1 / (rank + 1) ** 0.8 for rank in range(PAGES)]
        self.page_cum = list(_cumulate(weights))
        self.type_cum = list(_cumulate(WEIGHTS))
        self.visitors = [
            hashlib.blake2b(str(n).encode(), digest_size=16).hexdigest()
            for n in range(VISITOR_POOL)
        ]

    def days(self) -> list[datetime.date]:
        today = datetime.datetime.now(datetime.UTC).date()
        return [today - datetime.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]

    def day_rows(self, day: datetime.date, count: int) -> list[tuple[Any, ...]]:
        """Return one day's events as row tuples, in the order of the INSERT's columns."""
        rng = self.rng
        types = rng.choices(TYPES, cum_weights=self.type_cum, k=count)
        pages = rng.choices(self.pages, cum_weights=self.page_cum, k=count)
        visitors = rng.choices(self.visitors, k=count)
        items = rng.choices(self.item_keys, k=count)
        referrers = rng.choices(REFERRERS, k=count)
        stamp = day.isoformat()
        minutes = [f"{stamp} {m // 60:02d}:{m % 60:02d}:00.000000" for m in range(1440)]
        times = rng.choices(minutes, k=count)
        cid = self.comparison_id
        return [
            (cid, kind, item if kind in WITH_ITEM else None, page[0], page[1], ref, stamp, vis, at)
            for kind, page, vis, item, ref, at in zip(
                types, pages, visitors, items, referrers, times, strict=True
            )
        ]

    def plan(self, total: int) -> Iterator[tuple[datetime.date, int]]:
        days = self.days()
        for index, day in enumerate(days):
            yield day, total // len(days) + (1 if index < total % len(days) else 0)


def _cumulate(weights: Any) -> Iterator[float]:
    running = 0.0
    for weight in weights:
        running += weight
        yield running


def seed_sqlite(path: Path, generator: Generator, total: int) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous=OFF")  # seeding only; the app sets its own
        names, marks = ", ".join(generator.columns), ", ".join("?" * len(generator.columns))
        sql = f"INSERT INTO events ({names}) VALUES ({marks})"
        for day, count in generator.plan(total):
            with connection:
                connection.executemany(sql, generator.day_rows(day, count))
    finally:
        connection.close()


def seed_postgresql(url: str, generator: Generator, total: int) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as connection:
        with connection.cursor() as cursor:
            for day, count in generator.plan(total):
                buffer = io.StringIO()
                for row in generator.day_rows(day, count):
                    buffer.write("\t".join(r"\N" if v is None else str(v) for v in row))
                    buffer.write("\n")
                names = ", ".join(generator.columns)
                with cursor.copy(f"COPY events ({names}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
            connection.commit()
        connection.autocommit = True
        connection.execute("ANALYZE events")


# -- backends ------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    """Yield the URL of a SQLite file in a temporary folder, deleted at the end."""
    with tempfile.TemporaryDirectory(prefix="vsw-bench-dash-") as folder:
        yield f"sqlite:///{Path(folder) / 'vswidget.sqlite3'}"


def database(backend: str, postgresql_url: str, schema: str) -> AbstractContextManager[str]:
    """Return what yields the URL of an empty database of ``backend`` and deletes it after:
    a SQLite file in a temporary folder, or a PostgreSQL ``schema`` at ``postgresql_url``."""
    return sqlite_database() if backend == "sqlite" else postgresql_schema(postgresql_url, schema)


# -- measuring -----------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Trial:
    backend: str
    size: int
    seed_s: float = 0.0
    rollup_s: float = 0.0
    rollup_rows: dict[str, int] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    queries: dict[str, float] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""
    db_mb: float | None = None

    def median(self, name: str, mode: str) -> float:
        return statistics.median(self.times[f"{name} {mode}"])

    def p90(self, name: str, mode: str) -> float:
        return quantile(self.times[f"{name} {mode}"], 0.9)


TARGETS = ("healthz", "dashboard 30 days", "dashboard 90 days", "stats 30 days", "stats 90 days")
MODES = ("cold", "warm")


def run_trial(backend: str, url: str, path: Path | None, size: int, args: Any) -> Trial:
    from vswidget.schemas import load_comparison
    from vswidget.server import analytics

    trial = Trial(backend, size, load_before=load_average())
    with inprocess.app_on(url, CACHE_URL="simple://") as app:
        document = load_comparison(json.loads(EXAMPLE.read_text()))
        comparison_id, slug, api_key = inprocess.publish(app, HANDLE, document)
        inprocess.set_password(app, HANDLE, PASSWORD)
        generator = Generator(comparison_id, [item["key"] for item in document["items"]])

        log(f"[{backend} {size:,}] seeding (load {load_average()})")
        started = time.perf_counter()
        if path is not None:
            seed_sqlite(path, generator, size)
        else:
            seed_postgresql(url, generator, size)
        trial.seed_s = time.perf_counter() - started

        log(f"[{backend} {size:,}] seeded in {trial.seed_s:.1f} s; rolling up")
        with app.app_context():
            started = time.perf_counter()
            analytics.roll_up_all()
            trial.rollup_s = time.perf_counter() - started
        trial.rollup_rows = inprocess.row_counts(app, TABLES)
        log(f"[{backend} {size:,}] rolled up in {trial.rollup_s:.1f} s {trial.rollup_rows}")
        if path is not None:
            files = (p for p in path.parent.iterdir() if p.is_file())
            trial.db_mb = sum(p.stat().st_size for p in files) / (1 << 20)

        measure(app, trial, slug, api_key, args)
        with app.app_context():
            trial.queries = time_queries(analytics, comparison_id, args.repeat)
        trial.load_after = load_average()
        return trial


def login(client: Any) -> None:
    form = client.get("/dashboard/login").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    if match is None:
        raise SystemExit("no CSRF token in the login form")
    answer = client.post(
        "/dashboard/login",
        data={"csrf": match.group(1), "handle": HANDLE, "password": PASSWORD, "next": ""},
    )
    if answer.status_code not in (302, 303):
        raise SystemExit(f"login answered {answer.status_code}")


def empty_cache(app: Any) -> None:
    """Forget everything cached, so the next read finds nothing (not timed)."""
    from vswidget.server.extensions import cache

    with app.app_context():
        cache.clear()


@contextmanager
def counting_page_sums() -> Iterator[Callable[[], int]]:
    """Count the calls of `host_pages._pages` (the uncached page sums) while measuring."""
    from vswidget.server.analytics import host_pages

    original = host_pages._pages
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    host_pages._pages = counted
    try:
        yield lambda: calls[0]
    finally:
        host_pages._pages = original


def measure(app: Any, trial: Trial, slug: str, api_key: str, args: Any) -> None:
    client = app.test_client()
    login(client)
    today = datetime.datetime.now(datetime.UTC).date()
    since_30 = (today - datetime.timedelta(days=29)).isoformat()
    since_90 = (today - datetime.timedelta(days=89)).isoformat()
    auth = {"Authorization": f"Bearer {api_key}"}
    stats = f"/api/v1/comparisons/{slug}/stats"
    requests: dict[str, Callable[[], Any]] = {
        "healthz": lambda: client.get("/healthz"),
        "dashboard 30 days": lambda: client.get(f"/dashboard/c/{slug}?days=30"),
        "dashboard 90 days": lambda: client.get(f"/dashboard/c/{slug}?days=90"),
        "stats 30 days": lambda: client.get(f"{stats}?since={since_30}", headers=auth),
        "stats 90 days": lambda: client.get(f"{stats}?since={since_90}", headers=auth),
    }
    trial.times = {f"{name} {mode}": [] for name in requests for mode in MODES}
    trial.computed = {key: 0 for key in trial.times}
    with counting_page_sums() as page_sums:
        for round_ in range(args.warmup + args.repeat):
            for name, request in requests.items():
                for mode in MODES:
                    if mode == "cold":
                        empty_cache(app)
                    before = page_sums()
                    started = time.perf_counter()
                    answer = request()
                    answer.get_data()
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.status_code != 200:
                        raise SystemExit(f"{name} answered {answer.status_code}")
                    if round_ >= args.warmup:
                        trial.times[f"{name} {mode}"].append(elapsed)
                        trial.computed[f"{name} {mode}"] += page_sums() - before
    for name in TARGETS[1:]:
        if trial.computed[f"{name} cold"] != args.repeat or trial.computed[f"{name} warm"]:
            raise SystemExit(f"{name}: the cache did not behave as measured {trial.computed}")


def time_queries(analytics: Any, comparison_id: int, repeat: int) -> dict[str, float]:
    """Median milliseconds of each rollup query behind the 90-day page, alone, and the rollup.

    "pages cold" empties the cache before each call (not timed), so it sums the rows;
    "pages warm" calls it again (the cache hit). "pages ragged" sums the 88 days from the
    2nd to the 89th day of the events, whose edges lie inside weeks with events outside the
    range; "daily rows alone" sums the 90 days from daily_pages only.
    """
    from vswidget.server.extensions import cache

    day = datetime.timedelta(days=1)
    until = datetime.datetime.now(datetime.UTC).date()
    since = until - 89 * day

    def nothing() -> None:
        pass

    calls: dict[str, tuple[Callable[[], None], Callable[[], Any]]] = {
        "series": (nothing, lambda: analytics.series(comparison_id, since, until)),
        "pages cold": (cache.clear, lambda: analytics.pages(comparison_id, since, until)),
        "pages warm": (nothing, lambda: analytics.pages(comparison_id, since, until)),
        "pages ragged": (
            cache.clear,
            lambda: analytics.pages(comparison_id, since + day, until - day),
        ),
        "daily rows alone": (
            nothing,
            lambda: analytics.host_pages._page_sums(
                comparison_id, analytics.host_pages._days(since, until), None
            ),
        ),
        "item_series": (nothing, lambda: analytics.item_series(comparison_id, since, until)),
        "roll_up_recent": (nothing, analytics.roll_up_recent),
    }
    result = {}
    for name, (prepare, call) in calls.items():
        samples = []
        for _ in range(max(3, repeat // 2)):
            prepare()
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        result[name] = statistics.median(samples)
    return result


# -- results -------------------------------------------------------------------------------


def tables(trials: list[Trial]) -> dict[str, Any]:
    sizes = []
    for t in trials:
        rows = t.rollup_rows
        periods = " / ".join(f"{rows.get(n, 0):,}" for n in TABLES[1:])
        sizes.append(
            [t.backend, t.size, f"{t.seed_s:.1f} s", f"{t.rollup_s:.1f} s", periods]
            + [None if t.db_mb is None else f"{t.db_mb:,.0f} MB"]
            + [f"{t.load_before} → {t.load_after}"]
        )
    columns = [("backend", None), ("events", 0), ("seeding", 0), ("rollup (roll_up_all)", 0)]
    columns += [("rollup rows (totals / pages / periods / items)", None), ("database", 0)]
    columns += [("load before → after", None)]
    found = {"seeding": record.table(columns, sizes)}
    requests = []
    for t in trials:
        goal = GOAL_MS.get(t.size)
        for name in TARGETS:
            row: list[Any] = [t.backend, t.size, name]
            met = []
            for mode in MODES:
                median = t.median(name, mode)
                ratio = 1.0 if name == "healthz" else median / t.median("healthz", mode)
                row += [f"{median:.1f} ms", f"{t.p90(name, mode):.1f} ms", ratio]
                if goal and name != "healthz":
                    met.append("yes" if median <= goal else "**no**")
                else:
                    met.append("")
            goal_text = f"≤ {goal:.0f} ms" if goal and name != "healthz" else ""
            requests.append([*row, goal_text, *met])
    columns = [("backend", None), ("events", 0), ("request", None)]
    for mode in MODES:
        columns += [(f"{mode} median", 0), (f"{mode} p90", 0), (f"{mode} ÷ healthz", 1)]
    columns += [("goal", 0), ("met cold", None), ("met warm", None)]
    found["requests"] = record.table(columns, requests)
    queries = [
        [t.backend, t.size, *(t.queries.get(name, 0) for name, _ in QUERIES)] for t in trials
    ]
    columns = [("backend", None), ("events", 0), *((label, d) for _, (label, d) in QUERIES)]
    found["queries"] = record.table(columns, queries)
    return found


# The columns of the queries' table: the name in Trial.queries, then the header and decimals.
QUERIES = [
    ("series", ("series (daily_totals)", 1)),
    ("pages cold", ("pages cold", 1)),
    ("pages warm", ("pages warm (cache)", 2)),
    ("pages ragged", ("pages cold, ragged 88 days", 1)),
    ("daily rows alone", ("daily rows alone", 1)),
    ("item_series", ("item_series (daily_items)", 1)),
    ("roll_up_recent", ("roll_up_recent", 0)),
]


def sizes_of(text: str) -> list[int]:
    return [int(size.replace("_", "")) for size in text.split(",") if size.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgresql-sizes", help="sizes to run on PostgreSQL (default: those of --sizes)"
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100,000 events, 5 rounds")
    harness.save_option(parser)
    args = harness.checked(parser, parser.parse_args())
    if args.quick:
        args.sizes, args.repeat = "100000", 5
    args.repeat = max(1, min(args.repeat, 1000))
    args.warmup = max(0, min(args.warmup, 100))
    sizes = sizes_of(args.sizes)
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    pg_sizes = sizes_of(args.postgresql_sizes) if args.postgresql_sizes else sizes
    loads_start = load_average()

    trials: list[Trial] = []
    skipped: list[str] = []
    try:
        for size in sizes:
            for backend in backends:
                if backend == "postgresql" and size not in pg_sizes:
                    continue
                if backend == "postgresql" and not args.postgresql:
                    skipped.append(f"PostgreSQL at {size:,} (no --postgresql URL)")
                    log("PostgreSQL skipped: give --postgresql URL or VSWIDGET_TEST_DATABASE_URL")
                    continue
                with database(backend, args.postgresql, PG_SCHEMA) as url:
                    path = Path(url.removeprefix("sqlite:///")) if backend == "sqlite" else None
                    trials.append(run_trial(backend, url, path, size, args))
                print(markdown(tables(trials[-1:])["requests"]), flush=True)
    except KeyboardInterrupt:
        log("interrupted: reporting what was measured")
        skipped.append("the rest (interrupted)")
    if not trials:
        return 1
    settings = {"warmup": args.warmup, "repeat": args.repeat, "skipped": skipped}
    loads = (loads_start, load_average())
    record.report("dashboard", loads, tables(trials), args.save, settings=settings)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "dashboard.py")
