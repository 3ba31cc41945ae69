"""Dashboard and stats benchmark: the comparison page and the stats API as events grow.

    .venv/bin/python benchmarks/dashboard.py [--sizes 1000000,10000000] [--postgresql URL]
        [--repeat N] [--backends sqlite,postgresql] [--postgresql-sizes 1000000] [--no-docs]

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
   (`analytics._pages`, counted) — every cold one and no warm one, or the run fails;
5. times the analytics queries behind the 90-day page alone (series, pages cold and warm,
   item_series), the page sums of a ragged 88-day range (from the 2nd to the 89th day of
   the events: days with events on both sides, so its edges are read day by day) and of the
   90 days from the daily rows alone (what the page sums fall back to if a rollup lands
   while they are summed), and `analytics.roll_up_recent()`,
   the job every ROLLUP_SECONDS, to show where the time goes;
6. prints the tables and writes them into docs/performance.md (section "Dashboard and stats
   as events grow", replacing an earlier one, keeping the others) unless --no-docs.

Every temporary folder and the PostgreSQL schema are deleted on success, error and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import platform
import random
import re
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import embed
from embed import cpu_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
README = HERE / "README.md"
SECTION = "## Dashboard and stats as events grow"
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


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# -- event generation -------------------------------------------------------------------


@dataclass
class Generator:
    comparison_id: int
    item_keys: list[str]
    seed: int = 6
    rng: random.Random = field(init=False)

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
            yield day, total // DAYS + (1 if index < total % DAYS else 0)


def _cumulate(weights: Any) -> Iterator[float]:
    running = 0.0
    for weight in weights:
        running += weight
        yield running


COLUMNS = "comparison_id, type, item_key, origin, path, referrer, day, visitor, created_at"


def seed_sqlite(path: Path, generator: Generator, total: int) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous=OFF")  # seeding only; the app sets its own
        sql = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
                with cursor.copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
            connection.commit()
        connection.autocommit = True
        connection.execute("ANALYZE events")


# -- backends ------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="vsw-bench-dash-") as folder:
        path = Path(folder) / "vswidget.sqlite3"
        yield f"sqlite:///{path}", path


@contextmanager
def postgresql_database(base: str, schema: str = PG_SCHEMA) -> Iterator[tuple[str, None]]:
    """Create ``schema`` (dropping a leftover one); yield a URL that uses it; drop it then."""
    from sqlalchemy import create_engine, text

    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
        try:
            yield url, None
        finally:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        admin.dispose()


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
    from flask import Flask

    from vswidget.schemas import load_comparison
    from vswidget.server import analytics, create_app, store
    from vswidget.server.extensions import db
    from vswidget.server.migrations import upgrade

    trial = Trial(backend, size, load_before=load())
    upgrade(url)
    app: Flask = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEYS": ["benchmark-key-of-at-least-32-bytes"],
            "CACHE_URL": "simple://",
        }
    )
    try:
        document = load_comparison(json.loads(EXAMPLE.read_text()))
        with app.app_context():
            publisher, api_key = store.create_publisher(HANDLE)
            comparison, _ = store.save_comparison(publisher, document)
            comparison_id, slug = comparison.id, comparison.slug
            store.set_password(HANDLE, PASSWORD)
        generator = Generator(comparison_id, [item["key"] for item in document["items"]])

        log(f"[{backend} {size:,}] seeding (load {load()})")
        started = time.perf_counter()
        if path is not None:
            seed_sqlite(path, generator, size)
        else:
            seed_postgresql(url, generator, size)
        trial.seed_s = time.perf_counter() - started

        log(f"[{backend} {size:,}] seeded in {trial.seed_s:.1f} s; rolling up (load {load()})")
        with app.app_context():
            started = time.perf_counter()
            analytics.roll_up_all()
            trial.rollup_s = time.perf_counter() - started
            trial.rollup_rows = count_rows(db)
        log(f"[{backend} {size:,}] rolled up in {trial.rollup_s:.1f} s {trial.rollup_rows}")
        if path is not None:
            trial.db_mb = sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file()) / (
                1 << 20
            )

        measure(app, trial, slug, api_key, args)
        with app.app_context():
            trial.queries = time_queries(analytics, comparison_id, args.repeat)
        trial.load_after = load()
        return trial
    finally:
        db.dispose(app)


def count_rows(db: Any) -> dict[str, int]:
    from sqlalchemy import text

    return {
        table: int(db.connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
        for table in ("events", "daily_totals", "daily_pages", "period_pages", "daily_items")
    }


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
    """Count the calls of `analytics._pages` (the uncached page sums) while measuring."""
    from vswidget.server import analytics

    original = analytics._pages
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    analytics._pages = counted
    try:
        yield lambda: calls[0]
    finally:
        analytics._pages = original


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
            lambda: analytics._page_sums(comparison_id, analytics._days(since, until), None),
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


# -- reporting -----------------------------------------------------------------------------


def tables(trials: list[Trial]) -> str:
    out = [
        "| backend | events | seeding | rollup (roll_up_all) | rollup rows "
        "(totals / pages / periods / items) | database | load before → after |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for t in trials:
        rows = t.rollup_rows
        size = f"{t.db_mb:,.0f} MB" if t.db_mb is not None else "—"
        out.append(
            f"| {t.backend} | {t.size:,} | {t.seed_s:.1f} s | {t.rollup_s:.1f} s "
            f"| {rows.get('daily_totals', 0):,} / {rows.get('daily_pages', 0):,} / "
            f"{rows.get('period_pages', 0):,} / {rows.get('daily_items', 0):,} | {size} "
            f"| {t.load_before} → {t.load_after} |"
        )
    out += [
        "",
        "Cold: nothing cached (the cache emptied just before, not timed), as the first read "
        "after a rollup finds it; warm: the same read again within the rollup period (cache "
        "hit). Ratios are to the healthz median of the same mode.",
        "",
        "| backend | events | request | cold median | cold p90 | cold ÷ healthz "
        "| warm median | warm p90 | warm ÷ healthz | goal | met cold | met warm |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for t in trials:
        goal = GOAL_MS.get(t.size)
        for name in TARGETS:
            cells = []
            met = []
            for mode in MODES:
                median = t.median(name, mode)
                ratio = "1.0" if name == "healthz" else f"{median / t.median('healthz', mode):.1f}"
                cells.append(f"{median:.1f} ms | {t.p90(name, mode):.1f} ms | {ratio}")
                if goal and name != "healthz":
                    met.append("yes" if median <= goal else "**no**")
                else:
                    met.append("")
            goal_text = f"≤ {goal:.0f} ms" if goal and name != "healthz" else ""
            out.append(
                f"| {t.backend} | {t.size:,} | {name} | {cells[0]} | {cells[1]} | {goal_text} "
                f"| {met[0]} | {met[1]} |"
            )
    out += [
        "",
        "The rollup queries behind the 90-day page, alone, and the rollup job (median ms, in "
        "an app context; pages cold: the cache emptied before each call, not timed; ragged: "
        "the 88 days from the 2nd to the 89th day of the events, whose edges are read day by "
        "day; daily rows alone: the 90 days summed from daily_pages only, what a read falls "
        "back to if a rollup lands while it sums):",
        "",
        "| backend | events | series (daily_totals) | pages cold | pages warm (cache) "
        "| pages cold, ragged 88 days | daily rows alone | item_series (daily_items) "
        "| roll_up_recent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in trials:
        q = t.queries
        out.append(
            f"| {t.backend} | {t.size:,} | {q.get('series', 0):.1f} "
            f"| {q.get('pages cold', 0):.1f} | {q.get('pages warm', 0):.2f} "
            f"| {q.get('pages ragged', 0):.1f} | {q.get('daily rows alone', 0):.1f} "
            f"| {q.get('item_series', 0):.1f} | {q.get('roll_up_recent', 0):.0f} |"
        )
    return "\n".join(out) + "\n"


def section(trials: list[Trial], args: Any, command: str, started: str, skipped: list[str]) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {started} by [`benchmarks/dashboard.py`](../benchmarks/dashboard.py): "
        f"`{command}`. Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python "
        f"{platform.python_version()}; load average at the start {LOAD_AT_START}, at the end "
        f"{load()} (other benchmarks and browser tests were running: the ratios to GET "
        "/healthz, timed the same way in the same loop, are the steadier figures).",
        "",
        f"Events generated over {DAYS} days and {PAGES} host pages ({SITES} sites), in day "
        "order, types weighted 60/30/6/3/1 % (impression/view/click/vote/sign-up); seeded in "
        "bulk (SQLite: sqlite3 executemany, one transaction a day, synchronous=OFF; "
        "PostgreSQL: COPY, then ANALYZE), rolled up with `analytics.roll_up_all()`. Server "
        "time is measured in process with Flask's test client (no network), logged in for the "
        f"dashboard, an API key for the stats; {args.warmup} warm-up rounds, then "
        f"{args.repeat} rounds, every request of a round one after the other, each timed "
        "cold then warm (cache: simple://, in process). Each cold request computed the page "
        "sums (`analytics._pages`, counted) and no warm one did. The database's own caches "
        "(SQLite's page cache and the OS's, PostgreSQL's shared buffers) stay warm.",
        "",
        tables(trials),
    ]
    if skipped:
        lines += ["Not measured in this run: " + "; ".join(skipped) + ".", ""]
    return "\n".join(lines)


def add_readme_line() -> None:
    if not README.exists() or "dashboard.py" in README.read_text():
        return
    with README.open("a") as readme:
        readme.write(
            "- `dashboard.py`: the dashboard comparison page and the stats API (30 and 90 days) "
            "on SQLite and PostgreSQL after seeding 1,000,000 and 10,000,000 events, against "
            "GET /healthz; `.venv/bin/python benchmarks/dashboard.py` (both sizes on both "
            "backends: about 7 minutes, 4 GB of disk in /tmp and PostgreSQL)\n"
        )


LOAD_AT_START = load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgresql-sizes", help="sizes to run on PostgreSQL (default: those of --sizes)"
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    args.repeat = max(1, min(args.repeat, 1000))
    args.warmup = max(0, min(args.warmup, 100))
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    pg_sizes = (
        [int(size.replace("_", "")) for size in args.postgresql_sizes.split(",") if size.strip()]
        if args.postgresql_sizes
        else sizes
    )
    command = "python benchmarks/dashboard.py " + shlex.join(
        re.sub(r"//[^@/]*@", "//USER@", arg) for arg in sys.argv[1:]
    )
    if (
        args.postgresql
        and not any(arg.startswith("--postgresql=") for arg in sys.argv)
        and ("--postgresql" not in sys.argv)
    ):
        hidden = re.sub(r"//[^@/]*@", "//USER@", args.postgresql)
        command = f"VSWIDGET_TEST_DATABASE_URL={hidden} {command}"
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sys.path.insert(0, str(ROOT / "src"))

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
                opener = (
                    sqlite_database()
                    if backend == "sqlite"
                    else postgresql_database(args.postgresql)
                )
                with opener as (url, path):
                    trials.append(run_trial(backend, url, path, size, args))
                print(tables(trials[-1:]), flush=True)
    except KeyboardInterrupt:
        log("interrupted: reporting what was measured")
        skipped.append("the rest (interrupted)")
    if trials:
        print(tables(trials))
        if not args.no_docs:
            embed.write_doc(section(trials, args, command, started, skipped), SECTION)
            add_readme_line()
            log(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
