"""Peer benchmark: vswidget against a minimal Flask app and against Isso, side by side.

    .venv/bin/python benchmarks/peers.py [--seconds N] [--rounds N] [--quick] [--no-docs]

In one run, on 127.0.0.1 only, this script

1. makes sure Isso (ISSO_VERSION, from the package index) is installed in a virtualenv of its
   own, benchmarks/.isso-venv (git-ignored; made on the first run with this Python, with the
   gunicorn version vswidget uses), so Isso's pins never touch vswidget's;
2. starts, each under gunicorn with the same settings (embed.GUNICORN: what `vswidget serve
   --workers 2` gives gunicorn): vswidget's read server (benchmarks/embed_app.py: vswidget and
   a minimal Flask JSON endpoint in the same workers), vswidget's write server
   (benchmarks/writes.py: durable votes, a minimal Flask POST beside them), Isso
   (`isso.run:application`, a config file of its own, SQLite in the temporary folder) and a
   minimal Flask app alone (for memory only);
3. measures with wrk, rounds alternating the order: the warm payload read against the
   minimal Flask JSON endpoint and against Isso's read of an empty comment thread; durable
   votes (each a new reader) against Isso's comment writes (each a new comment), checking
   after every measurement that what was acknowledged is what the database holds;
4. compares the widget's bytes (widget.js, its CSS inside: what a host page loads) with Isso's
   embed.min.js, gzipped at the same level, and reads each gunicorn worker's memory (RSS, PSS,
   USS) after warm-up and after the load;
5. prints the table and writes docs/benchmarks.md (full runs only, unless --docs).

It needs wrk (`apt-get install -y wrk`). Every process it starts is stopped, and every
temporary folder deleted, on success, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
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
import writes
from embed import CPUS, ROOT, Failed

HERE = Path(__file__).resolve().parent
DOC = ROOT / "docs" / "benchmarks.md"
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
GOALS = {"flask": 0.9, "isso-read": 2.0, "isso-write": 3.0, "bytes": 0.25}


# -- Isso ------------------------------------------------------------------------------------


def isso_python() -> Path:
    """Return the Python of Isso's virtualenv, making it first if it lacks Isso or gunicorn."""
    from importlib.metadata import version

    python = ISSO_VENV / "bin" / "python"
    wanted = {"isso": ISSO_VERSION, "gunicorn": version("gunicorn")}
    if isso_versions(python) == wanted:
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
    if isso_versions(python) != wanted:
        raise Failed(f"{ISSO_VENV} does not hold {wanted} after pip install")
    return python


def isso_versions(python: Path) -> dict[str, str]:
    """Return the versions of isso and gunicorn that ``python`` has, {} if it cannot tell."""
    if not python.exists():
        return {}
    script = (
        "import json; from importlib.metadata import version as v; "
        "print(json.dumps({n: v(n) for n in ('isso', 'gunicorn')}))"
    )
    done = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=60, cwd="/"
    )
    try:
        found: dict[str, str] = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {}
    return found


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
    pids = sorted(writes.children(master))
    if not pids:
        raise Failed(f"gunicorn ({name}) has no worker")
    return [memory_of(pid) for pid in pids]


def minimal_flask() -> Any:
    """Return writes.py's minimal Flask app with a GET /healthz: a Flask worker and nothing else.

    gunicorn serves it (`peers:minimal_flask()`) to show what an empty Flask worker holds.
    """
    app = writes.baseline_app()
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    return app


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
    isso: dict[str, str]  # Isso's virtualenv: package versions
    loads: tuple[str, str]  # load average at the start and at the end
    seconds: float  # the run's duration


def per_round(a: list[Any], b: list[Any]) -> list[float]:
    """Return a's req/s over b's, round by round (embed.Run and writes.Run both have rps)."""
    return [x.rps / y.rps for x, y in zip(a, b, strict=True) if y.rps > 0]


def cpu_per_round(a: list[Any], b: list[Any]) -> list[float]:
    """Return b's server CPU per request over a's, round by round: above 1, a is cheaper."""
    return [y.server_us / x.server_us for x, y in zip(a, b, strict=True) if x.server_us > 0]


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
    loads_start = writes.load_average()
    print(f"load average {loads_start}; {CPUS} CPUs", flush=True)
    python = isso_python()
    package = isso_package(python)
    isso_env = venv_versions(python, ("isso", "gunicorn", "werkzeug", "mistune"))

    widget = ROOT / "src" / "vswidget" / "static"
    sizes = Sizes(
        [
            (name, len(data), embed.gz(data))
            for name, data in (
                ("widget.js", (widget / "widget.js").read_bytes()),
                ("widget.css", (widget / "widget.css").read_bytes()),
                ("Isso embed.min.js", (package / "js" / "embed.min.js").read_bytes()),
                ("Isso isso.css", (package / "css" / "isso.css").read_bytes()),
            )
        ]
    )

    embed.stop_on_sigterm()
    with ExitStack() as stack:
        # /var/tmp: a disk, so fsync is real, for vswidget's SQLite and Isso's alike
        temp = Path(tempfile.mkdtemp(prefix="vswidget-peers-", dir="/var/tmp"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)

        # vswidget's read server, with the minimal Flask JSON endpoint in its workers
        instance = temp / "instance-reads"
        env = embed.clean_env(instance)
        embed.vswidget_cli(env, "db", "upgrade")
        key = embed.vswidget_cli(env, "publisher", "create", "bench").strip().splitlines()[-1]
        reads = stack.enter_context(embed.gunicorn("vswidget-reads", env, temp))
        from embed_data import big

        from vswidget import Client

        with Client(reads.base, key) as client:
            token = quote(client.publish(big()).token)

        # vswidget's write server (durable votes), Isso, and a minimal Flask app alone
        found = stack.enter_context(writes.backend("SQLite", temp, None))
        site = stack.enter_context(embed.host_site({"/": b"<title>A blog</title>"}))
        isso_folder = temp / "isso"
        isso_folder.mkdir()
        isso_env_vars = {k: v for k, v in os.environ.items() if not k.startswith("VSWIDGET_")}
        isso_env_vars["ISSO_SETTINGS"] = str(isso_config(isso_folder, site))
        isso = stack.enter_context(
            embed.gunicorn(
                "isso", isso_env_vars, temp, "isso.run:application", str(python), ready="/info"
            )
        )
        flask_alone = stack.enter_context(
            embed.gunicorn(
                "flask-alone", embed.clean_env(temp / "unused"), temp, "peers:minimal_flask()"
            )
        )

        read_targets = [
            embed.Target("baseline", "minimal Flask JSON", f"{reads.base}/baseline/ping"),
            embed.Target(
                "payload",
                "vswidget warm payload",
                f"{reads.base}/v1/payload/{token}",
                baseline="baseline",
            ),
            embed.Target(
                "isso-read", "Isso empty thread", f"{isso.base}/?uri={quote(ISSO_THREAD, safe='')}"
            ),
        ]
        for target in read_targets:
            target.server = isso if target.key == "isso-read" else reads
            status, _, body = embed.fetch(target.url)
            if status != 200:
                raise Failed(f"{target.label}: {target.url} answered {status}: {body[:200]!r}")
        if json.loads(embed.fetch(read_targets[2].url)[2]).get("total_replies") != 0:
            raise Failed(f"Isso's thread {ISSO_THREAD} is not empty")

        database = isso_folder / "comments.db"
        first = {"text": COMMENTS[0], "title": "Writes"}  # a new thread needs a title
        path = f"/new?uri={quote(ISSO_WRITES, safe='')}"
        status, body = writes.http(
            "POST",
            isso.base + path,
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
            "minimal Flask alone": flask_alone.process.pid,
        }
        lua = temp / "reads.lua"
        lua.write_text(embed.REPORT_LUA)
        print("warming up every server before reading its memory", flush=True)
        alone = embed.Target("alone", "minimal Flask alone", f"{flask_alone.base}/healthz")
        alone.server = flask_alone
        for target in [*read_targets, alone]:
            embed.wrk(target, min(2.0, args.seconds), lua)
        for writer in write_targets:
            writes.wrk(writer, min(1.0, args.seconds), temp / "writes.lua", f"w-{writer.key}")
        warm = {name: workers_memory(name, pid) for name, pid in servers.items()}

        patience = embed.Patience(args.quiet, args.max_wait, args.wait_budget, args.retries)
        read_runs = embed.measure(read_targets, args.rounds, args.seconds, lua, patience)
        write_patience = writes.Patience(args.quiet, args.max_wait, patience.budget)
        write_runs = writes.measure(
            write_targets, args.rounds, args.seconds, temp / "writes.lua", write_patience
        )
        embed.wrk(alone, min(2.0, args.seconds), lua)  # the Flask app alone gets a load too
        loaded = {name: workers_memory(name, pid) for name, pid in servers.items()}

    return Results(
        read_targets,
        read_runs,
        write_targets,
        write_runs,
        sizes,
        {name: (warm[name], loaded[name]) for name in servers},
        isso_env,
        (loads_start, writes.load_average()),
        time.monotonic() - started,
    )


# -- report ----------------------------------------------------------------------------------


def mib(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**20:.1f}"


def mean(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return None if len(known) < len(values) or not known else int(statistics.mean(known))


def verdict(ratio: float, goal: float, at_least: bool = True) -> str:
    met = ratio >= goal if at_least else ratio <= goal
    return "**yes**" if met else "**no**"


def goal_rows(r: Results) -> list[str]:
    """Return the rows of the summary table: each figure, its goal, and whether it is met."""
    reads, runs = {t.key: t for t in r.read_targets}, r.read_runs
    payload, isso = runs["payload"], runs["isso-read"]
    votes_key, base_key = r.write_targets[1].key, r.write_targets[0].key
    votes, comments = r.write_runs[votes_key], r.write_runs["isso-comments"]
    to_flask = statistics.median(embed.ratios(runs, reads["payload"]))
    to_isso = statistics.median(per_round(payload, isso))
    to_comments = statistics.median(per_round(votes, comments))
    ours = r.sizes.gzipped("widget.js")
    theirs = r.sizes.gzipped("Isso embed.min.js")
    to_bytes = ours / theirs
    ours_mem, isso_mem = r.memory["vswidget, read server"][1], r.memory["Isso"][1]
    kind = "USS" if all(m.uss is not None for m in ours_mem + isso_mem) else "RSS"
    vsw_bytes = mean([m.uss if kind == "USS" else m.rss for m in ours_mem]) or 0
    isso_bytes = mean([m.uss if kind == "USS" else m.rss for m in isso_mem]) or 1
    rps = {k: embed.median_run(v).rps for k, v in runs.items()}
    wps = {k: writes.median_run(v).rps for k, v in r.write_runs.items()}
    vote_baseline = statistics.median(per_round(votes, r.write_runs[base_key]))
    cpu = {
        "flask": statistics.median(embed.cpu_ratios(runs, reads["payload"])),
        "isso-read": statistics.median(cpu_per_round(payload, isso)),
        "isso-write": statistics.median(cpu_per_round(votes, comments)),
    }
    rows = [
        (
            "payload reads/s (warm, big comparison)",
            f"{rps['payload']:,.0f}",
            "minimal Flask JSON endpoint, same workers",
            f"{rps['baseline']:,.0f}",
            to_flask,
            f"{cpu['flask']:.2f}",
            f"≥ {GOALS['flask']:.1f}",
            verdict(to_flask, GOALS["flask"]),
        ),
        (
            "payload reads/s (warm, big comparison)",
            f"{rps['payload']:,.0f}",
            "Isso: read of an empty comment thread",
            f"{rps['isso-read']:,.0f}",
            to_isso,
            f"{cpu['isso-read']:.2f}",
            f"≥ {GOALS['isso-read']:.0f}",
            verdict(to_isso, GOALS["isso-read"]),
        ),
        (
            "durable votes/s (each a new reader)",
            f"{wps[votes_key]:,.0f}",
            "Isso: comment writes/s (each a new comment)",
            f"{wps['isso-comments']:,.0f}",
            to_comments,
            f"{cpu['isso-write']:.2f}",
            f"≥ {GOALS['isso-write']:.0f}",
            verdict(to_comments, GOALS["isso-write"]),
        ),
        (
            "widget.js (its CSS inside), bytes gzipped",
            f"{ours:,}",
            "Isso: embed.min.js gzipped",
            f"{theirs:,}",
            to_bytes,
            "—",
            f"≤ {GOALS['bytes']:.2f}",
            verdict(to_bytes, GOALS["bytes"], at_least=False),
        ),
        (
            f"memory per worker after load, MiB ({kind}, read server)",
            mib(vsw_bytes),
            "Isso",
            mib(isso_bytes),
            vsw_bytes / isso_bytes,
            "—",
            "none set",
            "—",
        ),
    ]
    return [
        "| what | vswidget | peer | peer figure | ratio | CPU ratio | goal | met |",
        "|---|---:|---|---:|---:|---:|---|---|",
        *(
            f"| {what} | {ours_} | {peer} | {theirs_} | {ratio:.2f} | {cpu_} | {goal} | {met} |"
            for what, ours_, peer, theirs_, ratio, cpu_, goal, met in rows
        ),
        "",
        "*Ratio*: vswidget's figure / the peer's (median over rounds of the ratio measured in "
        "each round). *CPU ratio*: the peer's server CPU time per request / vswidget's, the "
        "same way: above 1, vswidget spends less CPU on each request; it moves much less "
        "with other load on the machine than req/s. Votes/s over the minimal Flask POST in "
        f"the same workers: {vote_baseline:.2f}.",
    ]


def read_lines(r: Results) -> list[str]:
    runs = r.read_runs
    payload = runs["payload"]
    lines = [
        "| server | measurement | req/s | server CPU µs/req | p50 ms | p99 ms | bytes/answer "
        "| others % | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target in r.read_targets:
        every = runs[target.key]
        m = embed.median_run(every)
        cpu = statistics.median(x.server_us for x in every)
        server = "Isso" if target.key == "isso-read" else "vswidget's (embed_app)"
        lines.append(
            f"| {server} | {target.label} | {m.rps:,.0f} | {cpu:,.0f} | {m.p50:.2f} | "
            f"{m.p99:.2f} | {m.size:,.0f} | {statistics.median(x.others for x in every):.0f} | "
            f"{sum(x.errors for x in every)} |"
        )
    lines += [
        "",
        "Per round, payload / minimal Flask: "
        + ", ".join(f"{x:.2f}" for x in per_round(payload, runs["baseline"]))
        + "; payload / Isso: "
        + ", ".join(f"{x:.2f}" for x in per_round(payload, runs["isso-read"]))
        + ". Server CPU per request, Isso's / vswidget's: "
        + ", ".join(f"{x:.2f}" for x in cpu_per_round(payload, runs["isso-read"]))
        + ".",
    ]
    return lines


def write_lines(r: Results) -> list[str]:
    lines = [
        "| server | measurement | acknowledged/s | acknowledged | stored | server CPU µs/req | "
        "p50 ms | p99 ms | others % | other statuses, unanswered |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    mismatches = []
    for target in r.write_targets:
        every = r.write_runs[target.key]
        m = writes.median_run(every)
        acknowledged = sum(x.acknowledged for x in every) * target.per_request
        stored = "—"
        if target.stored is not None:
            stored_n = sum(x.stored or 0 for x in every)
            stored = f"{stored_n:,}"
            if stored_n != acknowledged:
                mismatches.append(f"{target.label}: acknowledged {acknowledged}, stored {stored_n}")
        server = "Isso" if target.kind == "comments" else "vswidget's (writes.py)"
        lines.append(
            f"| {server} | {target.label} | {m.rps:,.0f} | {acknowledged:,} | {stored} | "
            f"{statistics.median(x.server_us for x in every):,.0f} | {m.p50:.1f} | {m.p99:.0f} "
            f"| {statistics.median(x.others for x in every):.0f} | "
            f"{sum(x.other for x in every)}, {sum(x.unanswered for x in every)} |"
        )
    votes, comments = r.write_runs[r.write_targets[1].key], r.write_runs["isso-comments"]
    lines += [
        "",
        "Per round, votes / Isso comments: "
        + ", ".join(f"{x:.2f}" for x in per_round(votes, comments))
        + ". Server CPU per request, Isso's / vswidget's: "
        + ", ".join(f"{x:.2f}" for x in cpu_per_round(votes, comments))
        + ".",
        "",
        "Acknowledged = stored in every measurement, for both."
        if not mismatches
        else "**Counts that did not match:** " + "; ".join(mismatches) + ".",
    ]
    return lines


def size_lines(r: Results) -> list[str]:
    lines = ["| file | bytes | gzip -6 |", "|---|---:|---:|"]
    lines += [f"| {name} | {raw:,} | {gz:,} |" for name, raw, gz in r.sizes.files]
    js = r.sizes.gzipped("widget.js")
    isso_all = r.sizes.gzipped("Isso embed.min.js", "Isso isso.css")
    lines += [
        "",
        "widget.js carries the widget's CSS (minified, adopted into each shadow root), so it "
        f"is all a host page loads for a working widget: {js:,} bytes gzipped, the figure the "
        "bytes goal compares with Isso's embed.min.js. widget.css is the same look served "
        "separately for the server's own pages (the iframe form, the canonical page), which host "
        "pages never load: it is listed, not counted. Isso's embed.min.js loads isso.css with a "
        f"second request by default: {isso_all:,} bytes together, so widget.js / both = "
        f"{js / isso_all:.2f}.",
    ]
    return lines


def memory_lines(r: Results) -> list[str]:
    lines = [
        "| server | workers | RSS after warm-up | PSS | USS | RSS after load | PSS | USS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (warm, loaded) in r.memory.items():
        cells = []
        for snapshot in (warm, loaded):
            for field in ("rss", "pss", "uss"):
                cells.append(" / ".join(mib(getattr(m, field)) for m in snapshot))
        lines.append(f"| {name} | {len(loaded)} | " + " | ".join(cells) + " |")
    return lines


def render(args: argparse.Namespace, r: Results) -> str:
    """Return docs/benchmarks.md, Markdown."""
    from importlib.metadata import version

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = ".venv/bin/python benchmarks/peers.py" + "".join(
        " " + shlex.quote(a) for a in sys.argv[1:]
    )
    settings = " ".join(f"--{k} {v}" for k, v in embed.GUNICORN.items())
    every_read = [x for runs in r.read_runs.values() for x in runs]
    retried = sum(1 for x in every_read if x.attempts > 1)
    disturbed = sum(1 for x in every_read if x.others >= args.quiet or not x.balanced)
    lines = [
        "# Benchmarks against peers",
        "",
        "vswidget next to what a site owner would otherwise run: a minimal Flask app (the "
        "floor for any Flask server) and [Isso](https://isso-comments.de/), a self-hosted "
        "comment server that is also a Python WSGI app with an embed script and SQLite. Each "
        "figure is measured side by side in one run of "
        "[`benchmarks/peers.py`](../benchmarks/peers.py), on the same machine, under the same "
        "gunicorn settings, and given as a ratio: absolute figures on a shared 2-core machine "
        "move with the other work on it, ratios measured next to each other much less. "
        "[performance.md](performance.md) has vswidget's own figures in more detail, and "
        "[scaling.md](scaling.md) what they mean for a large deployment.",
        "",
        f"Measured {now}; reproduce with `{command}` (this run took "
        f"{r.seconds / 60:.0f} minutes; the first run also makes Isso's virtualenv).",
        "",
        *goal_rows(r),
        "",
        "## How it was measured",
        "",
        f"- machine: `nproc` {CPUS}, {embed.cpu_model()}, Linux {platform.release()}, Python "
        f"{platform.python_version()}; load average {r.loads[0]} at the start, {r.loads[1]} at "
        "the end: shared with other work, see *others* below",
        f"- code: {embed.code_version()}",
        f"- versions: vswidget's side gunicorn {version('gunicorn')}, Flask {version('flask')}, "
        f"Werkzeug {version('werkzeug')}; Isso {r.isso.get('isso', '?')} from the package "
        f"index, in a virtualenv of its own (`benchmarks/.isso-venv`), with gunicorn "
        f"{r.isso.get('gunicorn', '?')}, Werkzeug {r.isso.get('werkzeug', '?')}, mistune "
        f"{r.isso.get('mistune', '?')}",
        f"- servers: each runs `gunicorn {settings}` (what `vswidget serve --workers 2` sets) "
        "on 127.0.0.1: vswidget's read server serves `benchmarks/embed_app.py` (vswidget's "
        "app as `vswidget serve` loads it, and under `/baseline` the minimal Flask app "
        "answering a small constant JSON dict, in the same workers); vswidget's write server "
        "serves `benchmarks/writes.py`'s app (the same, with a minimal Flask POST beside it, "
        "rate limits raised); Isso serves `isso.run:application` with a config file that "
        "sets only its database (SQLite in the temporary folder), its `host` (a small page "
        "server on 127.0.0.1 standing for the blog), moderation off, and its guard off (its "
        "only rate limits: 2 comments a minute per address; the guard's queries go with it, "
        "so Isso's writes do a little less than they would); the rest is Isso's default; for "
        "memory only, a fourth serves `peers:minimal_flask()`, writes.py's minimal Flask app "
        "alone (nothing of vswidget imported)",
        "- data: vswidget's read is `GET /v1/payload/TOKEN` of the big comparison (4 items, "
        "12 reviewers, 48 long quotes: benchmarks/embed_data.py), warm (the in-process "
        f"cache); Isso's is `GET /?uri={ISSO_THREAD}`, a thread with no comment; a vote is "
        "`POST /v1/votes` with a ticket, each request from a new reader (a User-Agent of its "
        "own), so each inserts a vote, on SQLite in WAL mode with synchronous=FULL as "
        f'shipped; a comment is `POST /new?uri={ISSO_WRITES}` with JSON `{{"text": ...}}` '
        "(two sentences of Markdown, `Content-Type: application/json`, which Isso requires), "
        "each a new comment, on Isso's SQLite as it ships (a connection per query, rollback "
        "journal, synchronous FULL). Both databases are in /var/tmp, on a disk",
        f"- load: {writes.wrk_version()}. Reads: {embed.WRK_THREADS} thread, "
        f"{embed.WRK_CONNECTIONS} keep-alive connections, as in benchmarks/embed.py; writes: "
        f"{writes.WRK_CONNECTIONS} threads of one connection each, each stopping at its first "
        "answer after the time is up, so what was acknowledged can be compared with what is "
        "stored, as in benchmarks/writes.py; connections are closed and reopened every "
        f"{embed.REOPEN} requests so both workers serve. {args.seconds:g} s per measurement, "
        f"{args.rounds} rounds; each round starts one target later (writes: baseline and "
        "subject also swap places), so drift in the machine's load falls on all alike",
        "",
        "### Reads",
        "",
        *read_lines(r),
        "",
        "### Durable writes",
        "",
        *write_lines(r),
        "",
        "### Bytes a host page loads",
        "",
        *size_lines(r),
        "",
        "### Memory per worker",
        "",
        "MiB of each gunicorn worker (one column value per worker, ` / ` between them), from "
        "`/proc/PID/smaps_rollup`: *RSS* counts every page the worker maps, shared ones "
        "included; *PSS* splits each shared page among the processes sharing it; *USS* "
        "(private clean + dirty) is what the worker alone holds, which is what another "
        "worker costs. After warm-up: each server got 2 s of its reads (writes: 1 s) after "
        "its start; after load: after every measurement above.",
        "",
        *memory_lines(r),
        "",
        "## How to read it",
        "",
        "*Ratio* is the median over rounds of vswidget's figure / the peer's, each pair "
        "measured a few seconds apart (bytes: one measurement; memory: the mean of the "
        "workers). *req/s* and latencies are wrk's in the median round. *Server CPU µs/req* "
        "is the CPU time of the server's gunicorn master and workers (from /proc) per "
        "answered request, median over rounds: it moves less with other load than req/s, so "
        "the CPU ratios beside the per-round ratios say how much of a ratio is the software "
        "rather than the machine. *Others* is the share of the machine that processes not "
        "started by the benchmark used during the measurement (from /proc/stat); before each "
        f"measurement the script waits up to {args.max_wait:g} s for it to fall under "
        f"{args.quiet:g} %. {retried} of {len(every_read)} read measurements were repeated "
        f"because others were busy or one worker got every connection; {disturbed} stayed "
        "disturbed.",
    ]
    return "\n".join(lines) + "\n"


# -- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="seconds per wrk measurement (10; 3 quick)")
    parser.add_argument("--quick", action="store_true", help="3 s measurements, 2 rounds")
    parser.add_argument("--rounds", type=int, help="rounds of measurements (3; 2 quick)")
    embed.patience_options(parser, quiet=20, max_wait=20, wait_budget=150, retries=1)
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        help="write docs/benchmarks.md (default: on for full runs, off with --quick)",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.docs = (not args.quick) if args.docs is None else args.docs
    if not (0.5 <= args.seconds <= 120 and 1 <= args.rounds <= 10):
        parser.error("use 0.5..120 seconds and 1..10 rounds")
    embed.check_patience(parser, args)
    return args


def main() -> int:
    args = parse_args()
    if embed.wrk_missing():
        return 2
    results = run(args)
    text = render(args, results)
    print("\n" + text)
    if args.docs:
        DOC.write_text(text)
        print(f"written to {DOC.relative_to(ROOT)}")
    else:
        print("(docs/benchmarks.md not written: pass --docs to write a quick run)")
    return 0


if __name__ == "__main__":
    embed.run_main(main, "peers.py", (Failed, writes.Failed))
