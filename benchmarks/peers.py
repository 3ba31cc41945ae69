"""Peer benchmark: vswidget against a minimal Flask app and against Isso, side by side.

    .venv/bin/python benchmarks/peers.py [--seconds N] [--rounds N] [--quick] [--save]

In one run, on 127.0.0.1 only, this script

1. makes sure Isso (ISSO_VERSION, from the package index) is installed in a virtualenv of its
   own, benchmarks/.isso-venv (git-ignored; made on the first run with this Python, with the
   gunicorn version vswidget uses), so Isso's pins never touch vswidget's;
2. starts, each under gunicorn with the same settings (harness.GUNICORN: what `vswidget serve
   --workers 2` gives gunicorn): vswidget's read server and, in processes of its own, its
   baseline, a minimal Flask JSON endpoint (benchmarks/embed_app.py; also the memory of a
   Flask worker alone); vswidget's write server and its minimal Flask POST baseline
   (benchmarks/writes.py); Isso (`isso.run:application`, a config file of its own, SQLite in
   the temporary folder); and, for memory, vswidget as deployed:
   `vswidget serve --workers 2`, whose master loads the app (it migrates first) before its
   workers fork, so they share its code, serving the same comparison;
3. measures with wrk, rounds alternating the order: the warm payload read against the
   minimal Flask JSON endpoint and against Isso's read of an empty comment thread; durable
   votes (each a new reader) against Isso's comment writes (each a new comment), checking
   after every measurement that what was acknowledged is what the database holds;
4. compares the widget's bytes (widget.js, its CSS inside: what a host page loads) with Isso's
   embed.min.js, gzipped at the same level, and reads each gunicorn worker's memory (RSS, PSS,
   USS) after warm-up and after the load, and each master's USS after the load;
5. prints the tables and, on full runs (or with --save), saves benchmarks/results/peers.json.

It needs wrk (`apt-get install -y wrk`). Every process it starts is stopped, and every
temporary folder deleted, on success, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import embed
import harness
import record
import writes
from harness import (
    BIG,
    CPUS,
    ROOT,
    STATIC,
    Failed,
    Patience,
    children,
    clean_env,
    free_port,
    gunicorn,
    host_site,
    http,
    new_instance,
    serving,
)
from record import cpu_ratios, gz, load_average, median_run, ratios, rounds_text

HERE = Path(__file__).resolve().parent
ISSO_VERSION = "0.14.0"
ISSO_VENV = HERE / ".isso-venv"
ISSO_THREAD = "/thread"  # read, never written: an empty thread
ISSO_WRITES = "/writes"  # the thread the comment writes go to
# A comment as a reader writes one: a few sentences of Markdown, no name, no email.
COMMENTS = [
    "We moved our side project from SQLite to PostgreSQL last year and the *only* thing we "
    "miss is copying one file to back it up. Everything else got easier.",
    "SQLite in WAL mode has been fine for us at a few hundred writes a second; the trick is "
    "keeping transactions short. See the `busy_timeout` pragma.",
    "Hard to beat PostgreSQL once you need several app servers, but for a single box I'd "
    "ship SQLite first and measure before moving.",
]
# The reads table's server column, by target (vswidget's read server for the others).
READ_SERVERS = {"baseline": "minimal Flask (embed_app)", "isso-read": "Isso"}
GOALS = {"flask": 0.9, "isso-read": 2.0, "isso-write": 3.0, "bytes": 0.25, "worker MiB": 45}


# -- Isso ------------------------------------------------------------------------------------


def isso_python() -> Path:
    """Return the Python of Isso's virtualenv, making it first if it lacks Isso or gunicorn."""
    from importlib.metadata import version

    python = ISSO_VENV / "bin" / "python"
    wanted = {"isso": ISSO_VERSION, "gunicorn": version("gunicorn")}
    if python.exists() and venv_versions(python, tuple(wanted)) == wanted:
        return python
    print(
        f"making {ISSO_VENV.relative_to(ROOT)}: Isso {ISSO_VERSION} and gunicorn "
        f"{wanted['gunicorn']} from the package index, in a virtualenv of their own "
        "(first run only)",
        flush=True,
    )
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(ISSO_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", *(f"{k}=={v}" for k, v in wanted.items())],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise Failed(f"`{shlex.join(step)}` failed: {(done.stderr or done.stdout)[-800:]}")
    if venv_versions(python, tuple(wanted)) != wanted:
        raise Failed(f"{ISSO_VENV} does not hold {wanted} after pip install")
    return python


def isso_package(python: Path) -> Path:
    """Return the folder of the isso package in its virtualenv (its js/ and css/)."""
    script = "import importlib.util as u; print(u.find_spec('isso').submodule_search_locations[0])"
    done = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=60, cwd="/"
    )
    if done.returncode != 0:
        raise Failed(f"cannot find the isso package: {done.stderr.strip()[-400:]}")
    return Path(done.stdout.strip())


def isso_config(folder: Path, site: str) -> Path:
    """Write Isso's configuration file; return its path.

    Everything else is Isso's default (isso/isso.cfg): SQLite as it ships (a new connection
    per query, rollback journal, synchronous FULL), the PBKDF2 hash of the reader's address,
    markdown by mistune, notifications to the log.
    """
    path = folder / "isso.cfg"
    path.write_text(
        "[general]\n"
        f"dbpath = {folder / 'comments.db'}\n"
        f"host = {site}/\n"  # the blog the comments belong to (CORS); answers Isso's HEAD
        "\n[moderation]\n"
        "enabled = false\n"  # a comment is public at once, as a vote counts at once
        "\n[guard]\n"
        # Isso's only rate limits (2 comments a minute per address, 3 top-level comments a
        # thread per address): every request here comes from 127.0.0.1. The guard's SELECTs
        # go with them, so Isso does a little less work per write than it would.
        "enabled = false\n"
    )
    return path


# -- memory ----------------------------------------------------------------------------------


@dataclass
class Memory:
    """One gunicorn worker's memory, in bytes."""

    rss: int
    pss: int | None  # None: /proc/PID/smaps_rollup not readable
    uss: int | None  # private pages: what the worker alone holds


def memory_of(pid: int) -> Memory:
    """Return a process's RSS, and its PSS and USS when /proc/PID/smaps_rollup is readable."""
    fields: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, _, value = line.partition(":")
            fields[name] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        fields = {}
    if "Rss" in fields:
        uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        return Memory(fields["Rss"], fields.get("Pss"), uss)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return Memory(int(line.split()[1]) * 1024, None, None)
    raise Failed(f"cannot read the memory of process {pid}")


def workers_memory(name: str, master: int) -> list[Memory]:
    """Return the memory of each worker of a gunicorn master, in pid order."""
    pids = sorted(children(master))
    if not pids:
        raise Failed(f"gunicorn ({name}) has no worker")
    return [memory_of(pid) for pid in pids]


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Sizes:
    """Bytes of the scripts a host page loads, raw and gzip -6 (embed.gz)."""

    files: list[tuple[str, int, int]]  # name, bytes, gzipped

    def gzipped(self, *names: str) -> int:
        return sum(g for name, _, g in self.files if name in names)


@dataclass
class Results:
    read_targets: list[embed.Target]
    read_runs: dict[str, list[embed.Run]]
    write_targets: list[writes.Target]
    write_runs: dict[str, list[writes.Run]]
    sizes: Sizes
    memory: dict[str, tuple[list[Memory], list[Memory]]]  # server -> (after warm-up, after load)
    masters: dict[str, Memory]  # server -> its gunicorn master, after load
    isso: dict[str, str]  # Isso's virtualenv: package versions
    loads: tuple[str, str]  # load average at the start and at the end
    seconds: float  # the run's duration


def venv_versions(python: Path, names: tuple[str, ...]) -> dict[str, str]:
    script = (
        "import json, sys; from importlib.metadata import version as v; "
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [str(python), "-c", script, *names], capture_output=True, text=True, timeout=60, cwd="/"
    )
    versions: dict[str, str] = json.loads(done.stdout) if done.returncode == 0 else {}
    return versions


def run(args: argparse.Namespace) -> Results:
    """Start every server, measure them side by side, stop them; return what was measured."""
    started = time.monotonic()
    loads_start = load_average()
    print(f"load average {loads_start}; {CPUS} CPUs", flush=True)
    python = isso_python()
    package = isso_package(python)
    isso_env = venv_versions(python, ("isso", "gunicorn", "werkzeug", "mistune"))

    sizes = Sizes(
        [
            (name, len(data), gz(data))
            for name, data in (
                ("widget.js", (STATIC / "widget.js").read_bytes()),
                ("widget.css", (STATIC / "widget.css").read_bytes()),
                ("Isso embed.min.js", (package / "js" / "embed.min.js").read_bytes()),
                ("Isso isso.css", (package / "css" / "isso.css").read_bytes()),
            )
        ]
    )

    with ExitStack() as stack:
        # /var/tmp: a disk, so fsync is real, for vswidget's SQLite and Isso's alike
        temp = Path(tempfile.mkdtemp(prefix="vswidget-peers-", dir="/var/tmp"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)

        # vswidget's read server, and the minimal Flask JSON endpoint in a gunicorn of its own
        instance = temp / "instance-reads"
        env = clean_env(instance)
        key = new_instance(env)
        reads = stack.enter_context(gunicorn("vswidget-reads", env, temp))
        baseline = stack.enter_context(embed.baseline_server(env, temp))
        from vswidget import Client, Comparison

        with Client(reads.base, key) as client:
            token = quote(client.publish(Comparison.from_file(BIG)).token)

        # vswidget's write server (durable votes) and Isso
        found = stack.enter_context(writes.backend("SQLite", temp, None))
        site = stack.enter_context(host_site({"/": b"<title>A blog</title>"}))
        isso_folder = temp / "isso"
        isso_folder.mkdir()
        isso_env_vars = {k: v for k, v in os.environ.items() if not k.startswith("VSWIDGET_")}
        isso_env_vars["ISSO_SETTINGS"] = str(isso_config(isso_folder, site))
        isso = stack.enter_context(
            gunicorn(
                "isso", isso_env_vars, temp, "isso.run:application", str(python), ready="/info"
            )
        )
        # vswidget as deployed (docs/deploy.md), for memory: the same comparison, read warm
        deployed_env = clean_env(temp / "instance-serve")
        deployed_key = new_instance(deployed_env)
        port = free_port()
        serve = [str(Path(sys.executable).with_name("vswidget")), "serve", "--port", str(port)]
        serve += ["--workers", str(harness.WORKERS), "--threads", str(harness.GUNICORN["threads"])]
        deployed = stack.enter_context(serving("vswidget-serve", serve, port, temp, deployed_env))
        with Client(deployed.base, deployed_key) as client:
            deployed_token = quote(client.publish(Comparison.from_file(BIG)).token)
        served = embed.Target("served", "vswidget serve", deployed, f"/v1/payload/{deployed_token}")

        read_targets = [
            embed.Target("baseline", "minimal Flask JSON", baseline, "/ping"),
            embed.Target(
                "payload",
                "vswidget warm payload",
                reads,
                f"/v1/payload/{token}",
                baseline="baseline",
            ),
            embed.Target(
                "isso-read", "Isso empty thread", isso, f"/?uri={quote(ISSO_THREAD, safe='')}"
            ),
        ]
        for target in read_targets:
            status, _, body = http(target.url)
            if status != 200:
                raise Failed(f"{target.label}: {target.url} answered {status}: {body[:200]!r}")
        if json.loads(http(read_targets[2].url)[2]).get("total_replies") != 0:
            raise Failed(f"Isso's thread {ISSO_THREAD} is not empty")

        database = isso_folder / "comments.db"
        first = {"text": COMMENTS[0], "title": "Writes"}  # a new thread needs a title
        path = f"/new?uri={quote(ISSO_WRITES, safe='')}"
        status, _, body = http(
            isso.base + path,
            "POST",
            json.dumps(first).encode(),
            {"Content-Type": "application/json"},
        )
        if status != 201 or writes.sqlite_count(database, "comments") != 1:
            raise Failed(f"POST {path} to Isso answered {status}: {body[:300]!r}")
        write_targets = writes.targets_for(found)[:2]  # the baseline POST, then votes
        write_targets.append(
            writes.Target(
                "isso-comments",
                "comments",
                "Isso comments",
                isso.base,
                path,
                201,
                [json.dumps({"text": text}) for text in COMMENTS],
                agent=writes.CHROME,
                stored=lambda: writes.sqlite_count(database, "comments"),
                group=isso.process.pid,
                content_type="application/json",  # Isso refuses others (its CSRF check)
            )
        )

        servers = {  # name -> gunicorn master's pid
            "vswidget, read server": reads.process.pid,
            "vswidget, write server": found.server.process.pid,
            "Isso": isso.process.pid,
            "minimal Flask alone": baseline.process.pid,
            "vswidget serve (as deployed), reads": deployed.process.pid,
        }
        lua = temp / "reads.lua"
        lua.write_text(embed.REPORT_LUA)
        print("warming up every server before reading its memory", flush=True)
        for target in [*read_targets, served]:
            embed.wrk(target, min(2.0, args.seconds), lua)
        for writer in write_targets:
            writes.wrk(writer, min(1.0, args.seconds), temp / "writes.lua", f"w-{writer.key}")
        warm = {name: workers_memory(name, pid) for name, pid in servers.items()}

        patience = harness.patience(args)
        read_runs = embed.measure(read_targets, args.rounds, args.seconds, lua, patience)
        write_patience = Patience(args.quiet, args.max_wait, patience.budget)
        write_runs = writes.measure(
            write_targets, args.rounds, args.seconds, temp / "writes.lua", write_patience
        )
        embed.wrk(served, min(2.0, args.seconds), lua)  # measured for memory only: a load too
        loaded = {name: workers_memory(name, pid) for name, pid in servers.items()}
        masters = {name: memory_of(pid) for name, pid in servers.items()}

    return Results(
        read_targets,
        read_runs,
        write_targets,
        write_runs,
        sizes,
        {name: (warm[name], loaded[name]) for name in servers},
        masters,
        isso_env,
        (loads_start, load_average()),
        time.monotonic() - started,
    )


# -- results ---------------------------------------------------------------------------------


def mib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def mean(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return None if len(known) < len(values) or not known else int(statistics.mean(known))


def goals_table(r: Results) -> dict[str, Any]:
    """Return each figure against its peer's, its goal, and whether it is met."""
    runs, write_runs = r.read_runs, r.write_runs
    payload, isso = runs["payload"], runs["isso-read"]
    votes, comments = write_runs[r.write_targets[1].key], write_runs["isso-comments"]
    ours, theirs = r.sizes.gzipped("widget.js"), r.sizes.gzipped("Isso embed.min.js")
    ours_mem, isso_mem = r.memory["vswidget, read server"][1], r.memory["Isso"][1]
    kind = "USS" if all(m.uss is not None for m in ours_mem + isso_mem) else "RSS"
    isso_bytes = mean([m.uss if kind == "USS" else m.rss for m in isso_mem]) or 1
    reads = "payload reads/s (warm, big comparison)"
    compared: list[tuple[str, list[Any], str, list[Any], str]] = [  # what, ours, peer, theirs, goal
        (reads, payload, "minimal Flask JSON endpoint, own server", runs["baseline"], "flask"),
        (reads, payload, "Isso: read of an empty comment thread", isso, "isso-read"),
        (
            "durable votes/s (each a new reader)",
            votes,
            "Isso: comment writes/s (each a new comment)",
            comments,
            "isso-write",
        ),
    ]
    rows: list[list[Any]] = []
    for what, mine, peer, other, goal in compared:
        ratio = statistics.median(ratios(mine, other))
        rows.append(
            [what, median_run(mine).rps, peer, median_run(other).rps, ratio]
            + [statistics.median(cpu_ratios(mine, other)), f"≥ {GOALS[goal]:g}"]
            + ["**yes**" if ratio >= GOALS[goal] else "**no**"]
        )
    to_bytes = ours / theirs
    rows.append(
        ["widget.js (its CSS inside), bytes gzipped", ours, "Isso: embed.min.js gzipped", theirs]
        + [to_bytes, None, f"≤ {GOALS['bytes']:.2f}"]
        + ["**yes**" if to_bytes <= GOALS["bytes"] else "**no**"]
    )
    for server, label in (
        ("vswidget, read server", "read server under plain gunicorn"),
        ("vswidget serve (as deployed), reads", "`vswidget serve`"),
    ):
        ours_bytes = mean([m.uss if kind == "USS" else m.rss for m in r.memory[server][1]]) or 0
        rows.append(
            [f"memory per worker after load, MiB ({kind}, {label})", mib(ours_bytes), "Isso"]
            + [mib(isso_bytes), ours_bytes / isso_bytes, None, f"≤ {GOALS['worker MiB']:g} MiB"]
            + ["**yes**" if ours_bytes <= GOALS["worker MiB"] * 2**20 else "**no**"]
        )
    columns = [("what", None), ("vswidget", 0), ("peer", None), ("peer figure", 0)]
    columns += [("ratio", 2), ("CPU ratio", 2), ("goal", None), ("met", None)]
    table = record.table(columns, rows)
    for row in table["rows"][-2:]:  # MiB, not a count
        row[1], row[3] = f"{row[1]:.1f}", f"{row[3]:.1f}"
    return table


def reads_table(r: Results) -> dict[str, Any]:
    runs = r.read_runs
    rows: list[list[Any]] = []
    for target in r.read_targets:
        every = runs[target.key]
        m = median_run(every)
        per_round = None
        if target.key == "payload":
            per_round = (
                f"minimal Flask {rounds_text(ratios(every, runs['baseline']))}; "
                f"Isso {rounds_text(ratios(every, runs['isso-read']))}; CPU, Isso's / "
                f"vswidget's {rounds_text(cpu_ratios(every, runs['isso-read']))}"
            )
        rows.append(
            [READ_SERVERS.get(target.key, "vswidget's (embed_app)"), target.label]
            + [m.rps, statistics.median(x.server_us for x in every), m.p50, m.p99, m.size]
            + [statistics.median(x.others for x in every), sum(x.errors for x in every)]
            + [per_round]
        )
    columns = [("server", None), ("measurement", None), ("req/s", 0)]
    columns += [("server CPU µs/req", 0), ("p50 ms", 2), ("p99 ms", 2), ("bytes/answer", 0)]
    columns += [("others %", 0), ("errors", 0), ("per round, payload /", None)]
    return record.table(columns, rows)


def writes_table(r: Results) -> tuple[dict[str, Any], list[str]]:
    rows, mismatches = [], []
    votes, comments = r.write_runs[r.write_targets[1].key], r.write_runs["isso-comments"]
    for target in r.write_targets:
        every = r.write_runs[target.key]
        m = median_run(every)
        acknowledged = sum(x.acknowledged for x in every) * target.per_request
        stored = None
        if target.stored is not None:
            stored = sum(x.stored or 0 for x in every)
            if stored != acknowledged:
                mismatches.append(f"{target.label}: acknowledged {acknowledged}, stored {stored}")
        per_round = None
        if target.kind == "votes":
            per_round = (
                f"{rounds_text(ratios(votes, comments))}; CPU, Isso's / vswidget's "
                f"{rounds_text(cpu_ratios(votes, comments))}"
            )
        rows.append(
            ["Isso" if target.kind == "comments" else "vswidget's (writes.py)", target.label]
            + [m.rps, acknowledged, stored, statistics.median(x.server_us for x in every)]
            + [m.p50, m.p99, statistics.median(x.others for x in every)]
            + [f"{sum(x.other for x in every)}, {sum(x.unanswered for x in every)}", per_round]
        )
    columns = [("server", None), ("measurement", None), ("acknowledged/s", 0)]
    columns += [("acknowledged", 0), ("stored", 0), ("server CPU µs/req", 0), ("p50 ms", 1)]
    columns += [("p99 ms", 0), ("others %", 0), ("other statuses, unanswered", None)]
    columns += [("per round, votes / Isso comments", None)]
    return record.table(columns, rows), mismatches


def memory_table(r: Results) -> dict[str, Any]:
    rows = []
    for name, (warm, loaded) in r.memory.items():
        cells = []
        for snapshot in (warm, loaded):
            for field in ("rss", "pss", "uss"):
                values = [mib(getattr(m, field)) for m in snapshot]
                cells.append(" / ".join("—" if v is None else f"{v:.1f}" for v in values))
        master = r.masters[name].uss
        rows.append([name, len(loaded), *cells, "—" if master is None else f"{mib(master):.1f}"])
    columns = [("server", None), ("workers", 0), ("RSS after warm-up", 1), ("PSS", 1)]
    columns += [("USS", 1), ("RSS after load", 1), ("PSS", 1), ("USS", 1)]
    columns += [("master USS after load", 1)]
    return record.table(columns, rows)


# -- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    harness.load_options(parser, rounds=3, quick_rounds=2)
    harness.patience_options(parser, quiet=20, max_wait=20, wait_budget=150, retries=1)
    return harness.checked(parser, parser.parse_args())


def main() -> int:
    args = parse_args()
    if harness.wrk_missing():
        return 2
    r = run(args)
    write_table, mismatches = writes_table(r)
    tables = {
        "goals": goals_table(r),
        "reads": reads_table(r),
        "writes": write_table,
        "sizes": record.table(
            [("file", None), ("bytes", 0), ("gzip -6", 0)], [list(f) for f in r.sizes.files]
        ),
        "memory": memory_table(r),
    }
    every_read = [x for runs in r.read_runs.values() for x in runs]
    figures = {
        "settings": {"seconds": args.seconds, "rounds": args.rounds},
        "minutes": round(r.seconds / 60),
        "isso_venv": r.isso,
        "repeated_reads": sum(1 for x in every_read if x.attempts > 1),
        "disturbed_reads": sum(1 for x in every_read if x.others >= args.quiet or not x.balanced),
        "mismatches": mismatches,
    }
    record.report("peers", r.loads, tables, args.save, **figures)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "peers.py")
