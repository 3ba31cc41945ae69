"""Writes benchmark: durable votes and event ingestion against a minimal Flask baseline.

    .venv/bin/python benchmarks/writes.py [--seconds N] [--quick] [--postgresql URL]
        [--variants] [--profile]

In one run, on 127.0.0.1 only, this script

1. makes a temporary instance folder under /var/tmp (a disk: fsync must be real), runs
   `vswidget db upgrade`, creates a publisher and publishes examples/comparisons/
   sqlite-vs-postgresql.yaml with the SDK, then serves this module (`writes:make_application()`:
   vswidget's app as `vswidget serve` loads it and, under `/baseline`, a minimal Flask app
   whose POST endpoints parse the same bodies and store nothing) with gunicorn, 2 gthread
   workers, the settings of `vswidget serve --workers 2`, rate limits raised;
2. measures with wrk, rounds alternating baseline and subject: durable votes (`POST /v1/votes`,
   each request a new reader: its own User-Agent, so every vote inserts) and event batches
   (`POST /v1/events`, 10 events a request, a desktop Chrome User-Agent). Each wrk thread
   stops itself at its first answer after the deadline, so no request is in flight when wrk
   ends, and after every measurement the script checks that what wrk got acknowledged (200
   for a vote, 204 for a batch) is exactly what the database holds. The workers time each
   write transaction (with group commit, one per batch of writes: wait for the writers' turn
   and the write lock, hold it, COMMIT) and each grouped write (its call to its COMMIT done),
   and tell at `/bench/writes`;
3. does the same on PostgreSQL when `--postgresql URL` is given (default: the variable
   VSWIDGET_TEST_DATABASE_URL), in a schema of its own, `vsw_bench`, created and dropped;
   with `--variants`, also votes on SQLite with synchronous=NORMAL, a what-if (VARIANTS,
   applied in the workers only: src/ is not changed). Every server runs at once and the
   measurements of all of them are interleaved, round after round;
4. with `--profile`, samples the workers with py-spy while votes run;
5. runs `vswidget serve --workers 2` (tests/live.py's LiveServer), posts event batches from a
   few client threads, sends SIGHUP to the gunicorn master (a graceful reload of the
   workers) while they run, and checks that every event in a batch answered 204 is stored;
6. prints the tables and writes them into docs/performance.md (full runs only, unless --docs).

It needs wrk (`apt-get install -y wrk`; Debian's is built with LuaJIT, whose ffi gives the
Lua script a clock) and, for --profile, py-spy (`.venv/bin/pip install py-spy`). Every
process it starts is stopped, and every temporary folder and schema deleted, on success, on
error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import queue
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import embed
from embed import (
    Failed,
    Server,
    busy_seconds,
    code_version,
    cpu_model,
    free_port,
    stop,
    stop_on_sigterm,
    vswidget_cli,
    wait_ready,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
README = HERE / "README.md"
SECTION = "## Writes: durable votes and event ingestion"
EXAMPLE = ROOT / "examples" / "comparisons" / "sqlite-vs-postgresql.yaml"
HOST = "127.0.0.1"
PG_SCHEMA = "vsw_bench"

# The options `vswidget serve --workers 2` gives gunicorn (src/vswidget/server/serving.py, with the
# default --threads 4), for every server measured here.
WORKERS = 2
GUNICORN = {
    "workers": WORKERS,
    "threads": 4,
    "worker-class": "gthread",
    "access-logfile": "-",
    "graceful-timeout": 20,
    "forwarded-allow-ips": "127.0.0.1,::1",
}
# One connection per wrk thread: request() and response() then alternate on each thread,
# so a thread can stop itself right after an answer, with nothing of its own in flight.
WRK_CONNECTIONS = 16
# Every REOPEN-th request asks the server to close its connection: a gthread worker keeps a
# keep-alive connection for its whole life, and reopening lets connections spread over both
# workers, as many browsers would.
REOPEN = 100
LIMIT = "100000000/minute"  # rate limits raised: every request comes from 127.0.0.1
BUDGET = str(2**31 - 1)  # and the daily event budgets (event_budgets.py), for the same reason
BATCH = 10  # events per POST /v1/events
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGE = "https://blog.example.com/2025/06/choosing-a-database-for-a-side-project/?utm_source=rss"
REFERRER = "https://news.ycombinator.com/item?id=40000000"
SECRET = "writes-benchmark-key-of-at-least-32-bytes"

# What a change in src/ would give, applied by make_application() in the workers only when
# WRITES_BENCH_VARIANT asks (the default, "as-is", leaves vswidget exactly as shipped):
VARIANTS = {
    "as-is": "vswidget as shipped: SQLite WAL, synchronous=FULL, group commit",
    "sync-normal": "synchronous=NORMAL instead of FULL (`SQLITE_PRAGMAS` in "
    "src/vswidget/server/extensions.py), group commit as shipped",
}


# -- the WSGI app gunicorn serves ------------------------------------------------------------


def baseline_app() -> Any:
    """Return the minimal Flask app: POST endpoints that parse a JSON body and store nothing."""
    from flask import Flask, request

    app = Flask("baseline")

    @app.post("/vote")
    def vote() -> dict[str, Any]:
        body = json.loads(request.get_data(cache=False))
        return {"choice": body["item"], "votes": 1}

    @app.post("/events")
    def events() -> tuple[str, int]:
        body = json.loads(request.get_data(cache=False))
        return "", 204 if body["events"] else 400

    return app


def vary(variant: str) -> None:
    """Change vswidget in this process as one of VARIANTS says, before its app is created."""
    if variant not in VARIANTS:
        raise ValueError(f"WRITES_BENCH_VARIANT must be one of {', '.join(VARIANTS)}")
    if variant == "sync-normal":
        from vswidget.server import extensions

        # make_engine's connect hook reads the module's SQLITE_PRAGMAS at each connection.
        extensions.SQLITE_PRAGMAS = tuple(  # type: ignore[assignment]
            "PRAGMA synchronous=NORMAL" if p.startswith("PRAGMA synchronous") else p
            for p in extensions.SQLITE_PRAGMAS
        )


def make_application(variant: str | None = None) -> Any:
    """Return the WSGI app: vswidget as `vswidget serve` loads it, the baseline under /baseline.

    gunicorn calls it in each worker (`writes:make_application()`), so importing this module
    builds nothing and starts nothing.
    """
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from vswidget.server.serving import Server

    vary(variant or os.environ.get("WRITES_BENCH_VARIANT", "as-is"))
    timings = time_writes()
    product = Server.__new__(Server).load()  # load() reads no gunicorn setting
    return DispatcherMiddleware(product, {"/baseline": baseline_app(), "/bench": timings})


class WriteTimes:
    """How this worker's writes went: a WSGI app that tells, and forgets.

    ``GET /bench/writes`` answers this process's id; per write transaction since the last
    call (``Database.writing_sql``: with group commit, one per batch, entered by the thread that
    leads it) the seconds from its call to BEGIN IMMEDIATE done (waiting for the writers'
    turn and SQLite's write lock), from then to COMMIT done, and in COMMIT; and per grouped
    write (``WriterQueue.together``: a vote, an event batch) the seconds from its call until
    its transaction was committed.
    """

    LIMIT = 200_000  # samples kept between two calls

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[float, float, float]] = []
        self.writes: list[float] = []

    def add(self, wait: float, hold: float, commit: float) -> None:
        with self.lock:
            if len(self.samples) < self.LIMIT:
                self.samples.append((wait, hold, commit))

    def add_write(self, seconds: float) -> None:
        with self.lock:
            if len(self.writes) < self.LIMIT:
                self.writes.append(seconds)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            samples, self.samples = self.samples, []
            writes, self.writes = self.writes, []
        body = json.dumps({"pid": os.getpid(), "samples": samples, "writes": writes}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Connection", "close")])
        return [body]


def time_writes() -> WriteTimes:
    """Time every write transaction of this worker, and every grouped write, as they run."""
    from vswidget.server import extensions, sqlite_writers

    timings = WriteTimes()
    original = extensions.Database.writing_sql
    together = sqlite_writers.WriterQueue.together

    @contextmanager
    def writing(self: Any) -> Iterator[Any]:
        t0 = time.perf_counter()
        with original(self) as sql:  # our turn, then BEGIN IMMEDIATE: SQLite's lock taken
            t1 = time.perf_counter()
            yield sql
            t2 = time.perf_counter()
        t3 = time.perf_counter()  # COMMIT is done
        timings.add(t1 - t0, t3 - t1, t3 - t2)

    def grouped(self: Any, work: Any, writing: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return together(self, work, writing)
        finally:
            timings.add_write(time.perf_counter() - t0)

    # Database.write passes ``self.writing_sql`` to together(): the wrapped one, looked up per call.
    extensions.Database.writing_sql = writing  # type: ignore[method-assign]
    sqlite_writers.WriterQueue.together = grouped  # type: ignore[method-assign]
    return timings


# -- processes -------------------------------------------------------------------------------


def clean_env(instance: Path, **extra: str) -> dict[str, str]:
    """Return this environment without VSWIDGET_* settings, on the given instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSWIDGET_", "WRITES_"))}
    env.update(
        VSWIDGET_INSTANCE_PATH=str(instance),
        VSWIDGET_SECRET_KEYS=SECRET,
        VSWIDGET_VOTE_RATE_LIMIT=LIMIT,
        VSWIDGET_EVENT_RATE_LIMIT=LIMIT,
        VSWIDGET_EVENT_ADDRESS_BUDGET=BUDGET,
        VSWIDGET_EVENT_COMPARISON_BUDGET=BUDGET,
    )
    env.update(extra)
    return env


def gunicorn_command(port: int) -> list[str]:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}"]
    for name, value in GUNICORN.items():
        command += [f"--{name}", str(value)]
    return command + ["--pythonpath", str(HERE), "writes:make_application()"]


@contextmanager
def gunicorn(name: str, env: dict[str, str], logs: Path) -> Iterator[Server]:
    """Run one gunicorn on 127.0.0.1 until the block ends; stop it and its workers then."""
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            gunicorn_command(port),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches only us
        )
    server = Server(name, f"http://{HOST}:{port}", process, log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def children(pid: int) -> set[int]:
    """Return the pids of a process's children (gunicorn's workers, for a master)."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


# -- CPU accounting: this machine is shared, so each measurement says how busy the others were.

TICK = os.sysconf("SC_CLK_TCK")
CPUS = len(os.sched_getaffinity(0))


def our_processes() -> dict[int, tuple[int, float]]:
    """Return this process and its descendants: pid -> (process group, CPU seconds so far).

    The CPU seconds include those of children that have exited and been waited for.
    """
    table: dict[int, tuple[int, int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        cpu = sum(int(x) for x in fields[11:15]) / TICK
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), cpu)
    ours: dict[int, tuple[int, float]] = {}
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in ours:
            ours[pid] = (table[pid][1], table[pid][2])
            todo += [child for child, (parent, _, _) in table.items() if parent == pid]
    return ours


class CpuMeter:
    """CPU used from now until ``stop()``: by one process group of ours, and by others."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.busy0, self.ours0 = busy_seconds(), our_processes()

    def stop(self, group: int) -> tuple[float, list[float], float]:
        """Return the CPU seconds of ``group``, its processes' cores, and others' % of all."""
        elapsed = time.monotonic() - self.t0
        now = our_processes()
        used = {pid: cpu - self.ours0.get(pid, (0, 0.0))[1] for pid, (_, cpu) in now.items()}
        mine = {pid: cpu for pid, cpu in used.items() if now[pid][0] == group}
        others = max(0.0, busy_seconds() - self.busy0 - sum(used.values()))
        cores = sorted((cpu / elapsed for pid, cpu in mine.items() if pid != group), reverse=True)
        return sum(mine.values()), cores, 100 * others / (elapsed * CPUS)


def others_now(seconds: float = 1.0) -> float:
    """Return the share of the machine (%) that processes not ours use over ``seconds``."""
    meter = CpuMeter()
    time.sleep(seconds)
    return meter.stop(-1)[2]


@dataclass
class Patience:
    """How long to wait for a quiet machine before a measurement."""

    quiet: float  # % of the machine other processes may use
    wait: float  # seconds to wait before one measurement
    budget: float  # seconds of waiting in the whole run

    def settle(self) -> None:
        deadline = time.monotonic() + min(self.wait, self.budget)
        started = time.monotonic()
        while (others := others_now()) >= self.quiet and time.monotonic() < deadline:
            print(f"  waiting: other processes use {others:.0f}% of the CPU", flush=True)
        self.budget = max(0.0, self.budget - (time.monotonic() - started))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- wrk -------------------------------------------------------------------------------------

# Each wrk thread has one connection. It sends requests until SECONDS have passed since its
# init(), then, at the first answer after that, says WRKSTOP and stops its own event loop:
# the request it would send next is never sent. So when every thread has stopped, nothing
# is in flight, and what wrk counted as acknowledged is all the server did. The script then
# interrupts wrk (SIGINT), which prints its summary and runs done().
WRK_LUA = r"""
local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } vsw_timespec;
int clock_gettime(int clk_id, vsw_timespec *tp);
]])
local clock = ffi.new("vsw_timespec")
local function now()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC: the same in every thread
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local SECONDS = @SECONDS@
local EXPECTED = @EXPECTED@
local REOPEN = @REOPEN@
local PATH = @PATH@
local AGENT = @AGENT@ -- nil: a new reader, with a User-Agent of its own, in every request
local PREFIX = @PREFIX@
local BODIES = @BODIES@

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

deadline, first, last, sent, ok, other = 0, -1, 0, 0, 0, 0
local verified = false

function init(args)
  deadline = now() + SECONDS
end

function request()
  local headers = {["Content-Type"] = @TYPE@}
  if id == 1 and not verified then -- wrk calls this once, in setup, to check it: not sent
    verified = true
    return wrk.format("POST", PATH, headers, BODIES[1])
  end
  sent = sent + 1
  headers["User-Agent"] = AGENT or (PREFIX .. "-" .. id .. "-" .. sent)
  if sent % REOPEN == 0 then headers["Connection"] = "close" end
  if first < 0 then first = now() end
  return wrk.format("POST", PATH, headers, BODIES[sent % #BODIES + 1])
end

function response(status, headers, body)
  last = now()
  if status == EXPECTED then ok = ok + 1 else other = other + 1 end
  if last >= deadline then
    io.write("WRKSTOP\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local s, o, x, f, l = 0, 0, 0, math.huge, 0
  for _, t in ipairs(threads) do
    s, o, x = s + t:get("sent"), o + t:get("ok"), x + t:get("other")
    if t:get("first") >= 0 then f = math.min(f, t:get("first")) end
    l = math.max(l, t:get("last"))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"sent":%d,"ok":%d,"other":%d,"seconds":%.6f,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
    .. '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f}\n',
    s, o, x, l - f, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def lua_text(text: str) -> str:
    """Return a Lua long-bracket string literal holding ``text`` verbatim."""
    if "]===]" in text or text.startswith("\n"):
        raise ValueError("text cannot be a level-3 long string")
    return f"[===[{text}]===]"


@dataclass
class Target:
    key: str  # unique in a run
    kind: str  # "votes", "events" (timed at /bench/writes), "baseline", or a peer's own
    label: str
    base: str  # the server's base URL
    path: str
    expected: int  # the status of an acknowledged request
    bodies: list[str]
    per_request: int = 1  # votes or events stored per acknowledged request
    agent: str | None = None  # None: a new reader per request
    baseline: str = ""  # key of the baseline this target is compared with
    stored: Callable[[], int] | None = None  # how many rows the database holds now
    group: int = 0  # the server's process group
    content_type: str = "text/plain;charset=UTF-8"  # a CORS-simple request, as the widget sends

    @property
    def timed(self) -> bool:
        """Whether the server times its write transactions at /bench/writes (vswidget's)."""
        return self.kind in {"votes", "events"}


@dataclass
class Run:
    rps: float
    p50: float  # milliseconds
    p90: float
    p99: float
    acknowledged: int  # requests answered with the expected status
    other: int  # requests answered with another status
    unanswered: int  # requests sent that got no answer (socket errors, timeouts)
    server_us: float  # CPU time of the server's processes per answered request
    workers: list[float]  # CPU of each worker, in cores, busiest first
    others: float  # % of the machine used meanwhile by processes not ours
    stored: int | None = None  # rows added to the database during the run
    writes: WriteStats | None = None  # the server's write transactions during the run


@dataclass
class WriteStats:
    """The write transactions of a server's workers during one measurement."""

    count: int
    wait: float  # median milliseconds from Database.writing_sql's call to BEGIN IMMEDIATE done
    hold: float  # median milliseconds holding SQLite's write lock: BEGIN done to COMMIT done
    commit: float  # median milliseconds in COMMIT
    hold_p90: float
    hold_max: float
    busy: float  # sum of hold times / duration of the run: 1.0 = the lock never free
    grouped: int  # writes that went through group commit (WriterQueue.together)
    queued: float  # median milliseconds from such a write's call to its COMMIT done
    queued_p90: float

    @classmethod
    def of(
        cls, samples: list[list[float]], writes: list[float], seconds: float
    ) -> WriteStats | None:
        if not samples:
            return None
        waits, holds, commits = (sorted(1000 * x[i] for x in samples) for i in range(3))
        queued = sorted(1000 * x for x in writes) or [0.0]
        return cls(
            count=len(samples),
            wait=statistics.median(waits),
            hold=statistics.median(holds),
            commit=statistics.median(commits),
            hold_p90=holds[int(0.9 * (len(holds) - 1))],
            hold_max=holds[-1],
            busy=sum(holds) / 1000 / seconds if seconds > 0 else 0.0,
            grouped=len(writes),
            queued=statistics.median(queued),
            queued_p90=queued[int(0.9 * (len(queued) - 1))],
        )


def write_samples(base: str, tries: int = 100) -> tuple[list[list[float]], list[float]]:
    """Collect, and so reset, the write timings of every worker of a server (see WriteTimes).

    Return the transactions' (wait, hold, commit) and the grouped writes' seconds.
    """
    seen: dict[int, tuple[list[list[float]], list[float]]] = {}
    for _ in range(tries):
        status, body = http("GET", base + "/bench/writes")
        if status != 200:
            raise Failed(f"GET /bench/writes answered {status}: {body[:200]!r}")
        data = json.loads(body)
        samples, writes = seen.setdefault(data["pid"], ([], []))
        samples.extend(data["samples"])
        writes.extend(data["writes"])
        if len(seen) >= WORKERS:
            break
    return (
        [sample for samples, _ in seen.values() for sample in samples],
        [write for _, writes in seen.values() for write in writes],
    )


def lua_script(target: Target, seconds: float, prefix: str) -> str:
    values = {
        "SECONDS": f"{seconds:.3f}",
        "EXPECTED": str(target.expected),
        "REOPEN": str(REOPEN),
        "PATH": lua_text(target.path),
        "AGENT": "nil" if target.agent is None else lua_text(target.agent),
        "PREFIX": lua_text(prefix),
        "BODIES": "{" + ", ".join(lua_text(b) for b in target.bodies) + "}",
        "TYPE": lua_text(target.content_type),
    }
    return re.sub(r"@([A-Z]+)@", lambda m: values[m.group(1)], WRK_LUA)


def wrk(target: Target, seconds: float, lua: Path, prefix: str) -> Run:
    """Load one target with wrk for about ``seconds``; return what it measured and stored."""
    lua.write_text(lua_script(target, seconds, prefix))
    before = target.stored() if target.stored else None
    if target.timed:
        write_samples(target.base)  # forget the transactions before this run
    command = ["wrk", f"-t{WRK_CONNECTIONS}", f"-c{WRK_CONNECTIONS}"]
    command += [f"-d{seconds + 120:.0f}s", "--timeout", "10s", "-s", str(lua), target.base]
    meter = CpuMeter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    output, stopped, ended = [], 0, False
    deadline = time.monotonic() + seconds + 30
    try:
        while not ended and stopped < WRK_CONNECTIONS and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                ended = True
            elif line.startswith("WRKSTOP"):
                stopped += 1
            else:
                output.append(line)
        time.sleep(0.2)  # let the stopped threads exit: SIGINT must reach wrk's main thread
        for _ in range(20):
            if process.poll() is not None:
                break
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(timeout=10)
    while not lines.empty():
        line = lines.get()
        if line is not None and not line.startswith("WRKSTOP"):
            output.append(line)
    cpu, cores, others = meter.stop(target.group)
    found = next((x for x in output if x.startswith("WRKJSON ")), None)
    if found is None:
        stderr = process.stderr.read() if process.stderr else ""
        raise Failed(f"wrk failed on {target.label}: {stderr.strip() or ''.join(output)}")
    data = json.loads(found.removeprefix("WRKJSON "))
    answered = data["ok"] + data["other"]
    writes = None
    if target.timed:
        writes = WriteStats.of(*write_samples(target.base), data["seconds"])
    return Run(
        rps=data["ok"] / data["seconds"] if data["seconds"] > 0 else 0.0,
        p50=data["p50_us"] / 1000,
        p90=data["p90_us"] / 1000,
        p99=data["p99_us"] / 1000,
        acknowledged=data["ok"],
        other=data["other"],
        unanswered=data["sent"] - answered,
        server_us=1e6 * cpu / max(1, answered),
        workers=cores,
        others=others,
        stored=None if before is None or target.stored is None else target.stored() - before,
        writes=writes,
    )


def measure(
    targets: list[Target], rounds: int, seconds: float, lua: Path, patience: Patience
) -> dict[str, list[Run]]:
    """Measure every (baseline, subject) pair, round after round, all servers interleaved.

    Each round starts one pair later, and a pair's baseline and subject swap places every
    round, so drift in the machine's load falls on all of them alike.
    """
    runs: dict[str, list[Run]] = {t.key: [] for t in targets}
    pairs = [targets[i : i + 2] for i in range(0, len(targets), 2)]
    warm_up = min(2.0, seconds)
    print(f"warming up: {warm_up:g} s on each of {len(targets)} targets", flush=True)
    for target in targets:
        wrk(target, warm_up, lua, f"warm-{target.key}")
    for number in range(rounds):
        shift = number % len(pairs)
        order = [
            t for pair in pairs[shift:] + pairs[:shift] for t in pair[:: -1 if number % 2 else 1]
        ]
        for target in order:
            patience.settle()
            run = wrk(target, seconds, lua, f"r{number}-{target.key}")
            runs[target.key].append(run)
            check = ""
            if run.stored is not None:
                check = f"  acknowledged {run.acknowledged * target.per_request}"
                check += f" stored {run.stored}"
            if run.writes is not None:
                w = run.writes
                check += (
                    f"  {run.acknowledged / w.count:.1f} writes/tx  wait {w.wait:.1f} hold "
                    f"{w.hold:.2f} commit {w.commit:.2f} ms  busy {100 * w.busy:.0f}%"
                )
            bad = f"  {run.other} other statuses" if run.other else ""
            bad += f"  {run.unanswered} unanswered" if run.unanswered else ""
            print(
                f"round {number + 1}/{rounds}  {target.key:<34} {run.rps:6.0f} req/s  "
                f"p50 {run.p50:6.1f} ms  p99 {run.p99:6.0f} ms  server {run.server_us:5.0f} "
                f"us/req  workers {'/'.join(f'{w:.2f}' for w in run.workers)}  "
                f"others {run.others:.0f}%{check}{bad}",
                flush=True,
            )
    return runs


def median_run(runs: list[Run]) -> Run:
    """Return the run with the median requests per second (the lower middle one if even)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def ratios(runs: dict[str, list[Run]], target: Target) -> list[float]:
    pairs = zip(runs[target.key], runs[target.baseline], strict=True)
    return [s.rps / b.rps for s, b in pairs if b.rps > 0]


# -- the system under test -------------------------------------------------------------------


@dataclass
class Backend:
    name: str  # "SQLite" or "PostgreSQL"
    server: Server
    key: str
    slug: str
    token: str
    ticket: str
    items: list[str]
    count_events: Callable[[], int]
    detail: str


def publish(base: str, key: str) -> tuple[str, str, list[str]]:
    """Publish the example comparison; return its slug, embed token and item keys."""
    from vswidget import Client, Comparison

    comparison = Comparison.from_file(EXAMPLE)
    with Client(base, key) as client:
        published = client.publish(comparison)
    return published.slug, published.token, [item.key for item in comparison.items]


def api_votes(backend: Backend) -> int:
    """Return the votes stored for the comparison, as the publisher API reports them."""
    status, body = http(
        "GET",
        f"{backend.server.base}/api/v1/comparisons/{backend.slug}",
        headers={"Authorization": f"Bearer {backend.key}"},
    )
    if status != 200:
        raise Failed(f"GET /api/v1/comparisons/{backend.slug} answered {status}: {body[:200]!r}")
    return int(json.loads(body)["votes"])


def sqlite_count(path: Path, table: str) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


def vote_bodies(ticket: str, items: list[str]) -> list[str]:
    return [json.dumps({"ticket": ticket, "item": key}, separators=(",", ":")) for key in items]


def event_body(token: str) -> str:
    """Return a batch as the widget sends it: impressions and views of one embed."""
    events = [{"type": ("impression", "view")[i % 2], "token": token} for i in range(BATCH)]
    body = {"page": PAGE, "referrer": REFERRER, "events": events}
    return json.dumps(body, separators=(",", ":"))


def check_endpoints(backend: Backend) -> None:
    """Send one of each request by hand: a wrong answer stops the run before any measurement."""
    base = backend.server.base
    text = {"Content-Type": "text/plain;charset=UTF-8"}
    vote = vote_bodies(backend.ticket, backend.items)[0].encode()
    before = api_votes(backend)
    status, body = http("POST", f"{base}/v1/votes", vote, {**text, "User-Agent": "sanity-1"})
    if status != 200 or api_votes(backend) != before + 1:
        raise Failed(f"POST /v1/votes answered {status}: {body[:300]!r}")
    events = event_body(backend.token).encode()
    before = backend.count_events()
    status, body = http("POST", f"{base}/v1/events", events, {**text, "User-Agent": CHROME})
    if status != 204 or backend.count_events() != before + BATCH:
        raise Failed(
            f"POST /v1/events answered {status} and stored "
            f"{backend.count_events() - before} of {BATCH}: {body[:300]!r}"
        )
    for path, body_, expected in (("/baseline/vote", vote, 200), ("/baseline/events", events, 204)):
        status, body = http("POST", base + path, body_, {**text, "User-Agent": CHROME})
        if status != expected:
            raise Failed(f"POST {path} answered {status}: {body[:300]!r}")


@contextmanager
def backend(
    name: str, temp: Path, database_url: str | None, variant: str = "as-is"
) -> Iterator[Backend]:
    """Set up an instance on SQLite (``database_url`` None) or PostgreSQL and serve it."""
    instance = temp / f"instance-{name.lower()}-{variant}"
    extra = {"WRITES_BENCH_VARIANT": variant}
    if database_url:
        extra["VSWIDGET_DATABASE_URL"] = database_url
    env = clean_env(instance, **extra)
    vswidget_cli(env, "db", "upgrade")
    key = vswidget_cli(env, "publisher", "create", "bench").strip().splitlines()[-1]
    with ExitStack() as stack:
        server = stack.enter_context(gunicorn(f"{name.lower()}-{variant}", env, temp))
        slug, token, items = publish(server.base, key)
        status, body = http("GET", f"{server.base}/v1/payload/{quote(token)}")
        if status != 200:
            raise Failed(f"GET /v1/payload/TOKEN answered {status}: {body[:200]!r}")
        ticket = json.loads(body)["ticket"]
        if database_url:
            from sqlalchemy import create_engine, text

            engine = create_engine(database_url)
            stack.callback(engine.dispose)

            def count_events() -> int:
                with engine.connect() as connection:
                    return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())

            detail = f"PostgreSQL, schema `{PG_SCHEMA}`"
        else:
            path = instance / "vswidget.sqlite3"

            def count_events() -> int:
                return sqlite_count(path, "events")

            normal = variant == "sync-normal"
            detail = f"SQLite, WAL, synchronous={'NORMAL' if normal else 'FULL'}"
        found = Backend(name, server, key, slug, token, ticket, items, count_events, detail)
        check_endpoints(found)
        yield found


def targets_for(found: Backend, variant: str = "as-is") -> list[Target]:
    """Return (baseline, subject) pairs for votes and events on one server."""
    base, tag = found.server.base, f"{found.name}-{variant}:"
    votes = vote_bodies(found.ticket, found.items)
    events = [event_body(found.token)]
    suffix = "" if variant == "as-is" else f" ({variant})"
    pairs = [
        Target(
            tag + "vote-baseline",
            "baseline",
            "baseline POST (JSON 200)",
            base,
            "/baseline/vote",
            200,
            votes,
        ),
        Target(
            tag + "votes",
            "votes",
            f"votes{suffix}",
            base,
            "/v1/votes",
            200,
            votes,
            baseline=tag + "vote-baseline",
            stored=lambda: api_votes(found),
        ),
        Target(
            tag + "event-baseline",
            "baseline",
            "baseline POST (204)",
            base,
            "/baseline/events",
            204,
            events,
            agent=CHROME,
        ),
        Target(
            tag + "events",
            "events",
            f"events ×{BATCH}{suffix}",
            base,
            "/v1/events",
            204,
            events,
            per_request=BATCH,
            agent=CHROME,
            baseline=tag + "event-baseline",
            stored=found.count_events,
        ),
    ]
    for target in pairs:
        target.group = found.server.process.pid
    return pairs


@contextmanager
def postgresql_schema(base_url: str) -> Iterator[str]:
    """Create the schema vsw_bench (dropping a leftover one); yield a URL that uses it."""
    from sqlalchemy import create_engine, text

    if base_url.startswith(("postgresql://", "postgres://")):
        base_url = "postgresql+psycopg://" + base_url.split("://", 1)[1]
    admin = create_engine(base_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    except Exception as error:
        admin.dispose()
        raise Failed(f"cannot create the schema {PG_SCHEMA}: {error}") from None
    try:
        yield base_url + ("&" if "?" in base_url else "?") + f"options=-csearch_path%3D{PG_SCHEMA}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


# -- a graceful restart under load -----------------------------------------------------------


@dataclass
class Restart:
    accepted: int = 0  # events in batches answered 204
    stored: int = 0
    batches: int = 0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    reloads: list[float] = field(default_factory=list)  # SIGHUP -> old workers gone, seconds
    during: list[int] = field(default_factory=list)  # events accepted meanwhile
    seconds: float = 0.0
    old: list[set[int]] = field(default_factory=list)
    new: list[set[int]] = field(default_factory=list)


def restart_under_load(temp: Path, reloads: int, settle: float, clients: int) -> Restart:
    """Post event batches from ``clients`` threads while the gunicorn master gets SIGHUP."""
    import httpx

    sys.path.insert(0, str(ROOT / "tests"))
    from live import LiveServer  # type: ignore[import-not-found]

    folder = temp / "restart"
    folder.mkdir()
    live = LiveServer(
        folder,
        workers=2,
        EVENT_RATE_LIMIT=LIMIT,
        VOTE_RATE_LIMIT=LIMIT,
        EVENT_ADDRESS_BUDGET=BUDGET,
        EVENT_COMPARISON_BUDGET=BUDGET,
    )
    result = Restart()
    stopping = threading.Event()
    lock = threading.Lock()
    try:
        live.start()
        assert live.process is not None
        key = live.new_publisher("bench")
        _, token, _ = publish(live.base, key)
        body = event_body(token)
        database = folder / "instance" / "vswidget.sqlite3"
        before = sqlite_count(database, "events")
        print(f"restart: {clients} clients posting batches of {BATCH} events", flush=True)

        def client() -> None:
            headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": CHROME}
            with httpx.Client(base_url=live.base, timeout=30, headers=headers) as session:
                for _ in range(100_000):  # bounded: stopped long before by ``stopping``
                    if stopping.is_set():
                        return
                    try:
                        status = session.post("/v1/events", content=body).status_code
                    except httpx.HTTPError as error:
                        with lock:
                            result.failures[type(error).__name__] += 1
                        continue
                    with lock:
                        if status == 204:
                            result.accepted += BATCH
                            result.batches += 1
                        else:
                            result.failures[f"HTTP {status}"] += 1

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            master = live.process.pid
            time.sleep(settle)
            for number in range(reloads):
                old = children(master)
                sent, accepted = time.monotonic(), result.accepted
                os.kill(master, signal.SIGHUP)
                limit = sent + 60
                while time.monotonic() < limit:
                    now = children(master)
                    if not (now & old) and len(now) >= live.workers:
                        break
                    time.sleep(0.05)
                else:
                    raise Failed(f"the workers were not replaced within 60 s of SIGHUP {number}")
                result.reloads.append(time.monotonic() - sent)
                result.during.append(result.accepted - accepted)
                result.old.append(old)
                result.new.append(children(master))
                print(
                    f"restart: SIGHUP {number + 1}/{reloads}: workers {sorted(old)} -> "
                    f"{sorted(result.new[-1])} in {result.reloads[-1]:.2f} s; "
                    f"{result.accepted} events accepted so far",
                    flush=True,
                )
                time.sleep(settle)
        finally:
            stopping.set()
            for thread in threads:
                thread.join(timeout=60)
        result.seconds = time.monotonic() - started
        if any(thread.is_alive() for thread in threads):
            raise Failed("a load thread did not stop within 60 s")
        result.stored = sqlite_count(database, "events") - before
    finally:
        try:
            live.stop()
        finally:
            if live.process is not None:
                try:
                    os.killpg(live.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
    print(
        f"restart: accepted {result.accepted}, stored {result.stored}, "
        f"lost {max(0, result.accepted - result.stored)}; client errors "
        f"{dict(result.failures) or 'none'}",
        flush=True,
    )
    return result


# -- what the disk does ----------------------------------------------------------------------


def fsync_probe(folder: Path, count: int = 200) -> tuple[float, float]:
    """Return the median and p90 milliseconds of a 4 KiB append + fdatasync in ``folder``."""
    path = folder / "fsync-probe"
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            samples.append(1000 * (time.perf_counter() - t0))
    finally:
        os.close(fd)
        path.unlink()
    samples.sort()
    return statistics.median(samples), samples[int(0.9 * (len(samples) - 1))]


def filesystem(folder: Path) -> str:
    """Return the file system type and device of the mount holding ``folder``."""
    best, found = "", "unknown"
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, kind = line.split()[:3]
        if (str(folder) + "/").startswith(mount.rstrip("/") + "/") and len(mount) >= len(best):
            best, found = mount, f"{kind} on {device}"
    return found


# -- profile ---------------------------------------------------------------------------------


def profile_votes(found: Backend, seconds: float, lua: Path, temp: Path) -> tuple[Run, Profile]:
    """Sample both workers with py-spy while votes are measured; return the run and samples."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise Failed("py-spy is missing: install it with `.venv/bin/pip install py-spy`.")
    spies = []
    for pid in sorted(children(found.server.process.pid)):
        out = temp / f"profile-{pid}.txt"
        command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--nonblocking"]
        command += ["--rate", str(PROFILE_RATE), "--duration", f"{seconds + 2:.0f}"]
        command += ["--output", str(out)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        spies.append((process, out))
    try:
        time.sleep(1)  # py-spy attaches
        run = wrk(targets_for(found)[1], seconds, lua, "profile")
    finally:
        for process, _ in spies:
            try:
                process.wait(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    profile = Profile()
    for process, out in spies:
        if not out.exists():
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise Failed(f"py-spy wrote no profile: {error.strip()[:300]}")
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if count.isdigit():
                profile.add(stack.split(";"), int(count))
    return run, profile


PROFILE_RATE = 200  # py-spy samples per second and thread

# Where a sample of a request thread is, by the first rule that matches: the two whole-stack
# rules first, then the innermost frame that matches one of the others.
STACK_RULES = (
    ("COMMIT: the WAL append and fsync of synchronous=FULL", "do_commit ("),
    (
        "BEGIN IMMEDIATE: waiting for SQLite's write lock",
        "begin_writing (vswidget/server/extensions.py",
    ),
)
FRAME_RULES = (
    (
        "other SQL in SQLite (SELECT, INSERT, UPDATE)",
        ("do_execute ", "fetch", "run (vswidget/server/prepared.py"),
    ),
    ("SQLAlchemy in Python (Core execution, sessions, result rows)", ("sqlalchemy/",)),
    ("writers' turns and group commit (locks, flock)", ("vswidget/server/sqlite_writers.py",)),
    ("Flask-Limiter and limits (in-process counters)", ("flask_limiter/", "limits/")),
    ("marshmallow (the body's schema)", ("marshmallow/",)),
    ("itsdangerous (ticket, receipt, token)", ("itsdangerous/",)),
    ("vswidget's own code (json, hashlib...)", ("vswidget/",)),
    ("Flask and Werkzeug", ("flask/", "werkzeug/")),
    ("gunicorn (HTTP parsing, socket writes)", ("gunicorn/",)),
)


@dataclass
class Profile:
    """py-spy samples of the request threads, by where they were."""

    places: collections.Counter[str] = field(default_factory=collections.Counter)
    other: int = 0  # samples of other threads: the jobs thread, gunicorn's main loop

    def add(self, frames: list[str], count: int) -> None:
        if not any("handle_request" in f for f in frames):
            self.other += count
            return
        stack = ";".join(frames)
        for name, needle in STACK_RULES:
            if needle in stack:
                self.places[name] += count
                return
        for frame in reversed(frames):
            for name, needles in FRAME_RULES:
                if any(n in frame for n in needles):
                    self.places[name] += count
                    return
        self.places["the rest (threading, standard library)"] += count

    def shares(self) -> list[tuple[str, float]]:
        """Return each place and its % of the request threads' samples, biggest first."""
        total = sum(self.places.values()) or 1
        return [(name, 100 * count / total) for name, count in self.places.most_common()]

    def lines(self, run: Run) -> list[str]:
        total = sum(self.places.values())
        if not total:
            return ["py-spy recorded no sample of a request thread."]
        lines = [
            f"py-spy {PROFILE_RATE} samples/s of every thread of both workers, without idle "
            f"ones, while votes ran at {run.rps:,.0f}/s (slower than above: py-spy takes CPU "
            f"too; {run.server_us:,.0f} µs of server CPU each; others used {run.others:.0f} % "
            f"of the machine); {total:,} samples of "
            "request threads, each counted where it was: a whole-stack rule for COMMIT and "
            "BEGIN, else the innermost frame that names a library.",
            "",
            "| where the request threads were | share of samples |",
            "|---|---:|",
        ]
        for name, count in self.places.most_common():
            lines.append(f"| {name} | {100 * count / total:.0f} % |")
        return lines


# -- report ----------------------------------------------------------------------------------


def wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return "wrk"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0].split(" [")[0] if text else "wrk"


@dataclass
class Measured:
    backend: Backend
    targets: list[Target]
    runs: dict[str, list[Run]]
    variant: str = "as-is"


def ceiling(runs: list[Run], per_request: int) -> float:
    """Return what the server could do with every core to itself, at its CPU per request."""
    return CPUS * 1e6 / statistics.median(r.server_us for r in runs) * per_request


def table_lines(measured: list[Measured]) -> list[str]:
    lines = [
        "| database | measurement | req/s | votes or events/s | ratio to baseline | p50 ms | "
        f"p90 ms | p99 ms | server CPU µs/req | CPU ceiling on {CPUS} cores /s | others % | "
        "acknowledged | stored |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measured:
        for target in m.targets:
            runs = m.runs[target.key]
            run = median_run(runs)
            others = statistics.median(r.others for r in runs)
            ratio = (
                f"{statistics.median(ratios(m.runs, target)):.2f}" if target.baseline else "1.00"
            )
            per = f"{run.rps * target.per_request:,.0f}" if target.stored else "—"
            acknowledged = stored = "—"
            if target.stored:
                acknowledged = f"{sum(r.acknowledged for r in runs) * target.per_request:,}"
                stored = f"{sum(r.stored or 0 for r in runs):,}"
            cpu = statistics.median(r.server_us for r in runs)
            lines.append(
                f"| {m.backend.detail} | {target.label} | {run.rps:,.0f} | {per} | {ratio} | "
                f"{run.p50:.1f} | {run.p90:.1f} | {run.p99:.1f} | {cpu:,.0f} | "
                f"{ceiling(runs, target.per_request):,.0f} | {others:.0f} | {acknowledged} | "
                f"{stored} |"
            )
    return lines


def writes_lines(measured: list[Measured]) -> list[str]:
    """Return the table of the workers' write transactions, from the median round."""
    lines = [
        "| database | measurement | transactions | writes per transaction | wait ms (p50) | "
        "hold ms (p50) | hold p90 | hold max | of which COMMIT (p50) | lock held % of the "
        "time | writes / hold (/s) | a write: call to COMMIT done ms (p50) | p90 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measured:
        for target in m.targets:
            run = median_run(m.runs[target.key])
            w = run.writes
            if w is None:
                continue
            per = run.acknowledged / w.count
            busy, bound = f"{100 * w.busy:.0f}", f"{per * 1000 / w.hold:,.0f}"
            if m.backend.name != "SQLite":
                busy = bound = "—"
            queued = queued_p90 = "—"
            if w.grouped:
                queued, queued_p90 = f"{w.queued:.2f}", f"{w.queued_p90:.2f}"
            lines.append(
                f"| {m.backend.detail} | {target.label} | {w.count:,} | {per:.1f} | "
                f"{w.wait:.2f} | {w.hold:.2f} | {w.hold_p90:.2f} | {w.hold_max:.0f} | "
                f"{w.commit:.2f} | {busy} | {bound} | {queued} | {queued_p90} |"
            )
    return lines


def verdicts(measured: list[Measured]) -> tuple[list[str], list[str]]:
    """Return the goal lines and the list of measurements whose counts did not match."""
    lines, mismatches = [], []
    for m in measured:
        for target in m.targets:
            runs = m.runs[target.key]
            for number, run in enumerate(runs, 1):
                if run.stored is None:
                    continue
                acknowledged = run.acknowledged * target.per_request
                if run.stored != acknowledged or run.other or run.unanswered:
                    mismatches.append(
                        f"{m.backend.name} {target.label} round {number}: acknowledged "
                        f"{acknowledged}, stored {run.stored}, other statuses {run.other}, "
                        f"unanswered {run.unanswered}"
                    )
            if not target.baseline:
                continue
            rate = median_run(runs).rps * target.per_request
            goal, what = (1000, "votes/s") if target.kind == "votes" else (3000, "events/s")
            # The votes goal (issue 5) is SQLite's; the events goal holds on both.
            if target.kind == "votes" and not m.backend.name.startswith("SQLite"):
                verdict = f"the goal of {goal:,} is set for SQLite"
            else:
                verdict = f"goal: {goal:,} or more, {'met' if rate >= goal else 'not met'}"
            ratio = statistics.median(ratios(m.runs, target))
            name = m.backend.name if m.variant == "as-is" else f"{m.backend.name}, {m.variant}"
            lines.append(
                f"- {name}: **{rate:,.0f} {what}** ({verdict}); {ratio:.2f} of the baseline's "
                "requests per second; per round "
                + ", ".join(f"{r.rps * target.per_request:,.0f}" for r in runs)
                + f"; CPU ceiling {ceiling(runs, target.per_request):,.0f}/s."
            )
    return lines, mismatches


def findings(
    measured: list[Measured], fsync: float, profile: tuple[Run, Profile] | None
) -> list[str]:
    """Return what the SQLite vote measurements say about reaching 1,000 votes/s, with figures."""
    votes: dict[str, tuple[Measured, Target]] = {}
    for m in measured:
        for target in m.targets:
            if target.kind == "votes" and m.backend.name == "SQLite":
                votes[m.variant] = (m, target)
    if "as-is" not in votes:
        return []

    def figures(variant: str) -> tuple[Run, float, float]:
        """Return the median round, the ratio to baseline and the server µs per vote."""
        m, target = votes[variant]
        runs = m.runs[target.key]
        cpu = statistics.median(r.server_us for r in runs)
        return median_run(runs), statistics.median(ratios(m.runs, target)), cpu

    m, target = votes["as-is"]
    base_cpu = statistics.median(r.server_us for r in m.runs[target.baseline])
    run, ratio, cpu = figures("as-is")
    budget = CPUS * 1e3 * 0.9  # µs a vote for 1,000/s, wrk and the rest taking a tenth
    lines = [
        "### Durable votes: where the time goes, what 1,000 per second would take",
        "",
        "Built into src/ and measured above: `store.cast_vote` is three statements for a new "
        "reader (every item has a tally row, so reading the tallies tells which keys exist; "
        "the vote is inserted with ON CONFLICT DO NOTHING), written in Core, compiled once per "
        "database and run on the driver's cursor (`prepared.py`), inside one transaction; the "
        "readers' rate limits count with Flask-Limiter's storage but not through its "
        "per-request machinery (`address_limits.py`); SQLite has no connection event, which "
        "had slowed every statement (the writes send BEGIN IMMEDIATE themselves); SQLite "
        "writers take turns on their worker's lock and an `flock` on "
        "`<database>-writers.lock`, which wake the next writer when a transaction ends, "
        "instead of polling in SQLite's busy handler; and votes and event batches commit in "
        "groups (`db.write`, on a Core connection of its own, no ORM session): what a worker's "
        "threads queue during a transaction runs in the next one, a savepoint each when there "
        "are several, with one COMMIT and one fsync, and each request is answered only once "
        "that COMMIT is done. synchronous=FULL is kept.",
        "",
        f"- **Votes.** {run.rps:,.0f} votes/s in the median round, {ratio:.2f} of the "
        f"baseline POST's requests per second, p50 {run.p50:.1f} ms, p99 {run.p99:.0f} ms.",
    ]
    w = run.writes
    if w is not None:
        per = run.acknowledged / w.count
        lines.append(
            f"- **Group commit.** {run.acknowledged:,} votes acknowledged in {w.count:,} "
            f"write transactions: {per:.1f} votes a transaction. A transaction held SQLite's "
            f"write lock {w.hold:.2f} ms (median; p90 {w.hold_p90:.2f} ms), of which COMMIT "
            f"(the WAL append and its fsync; a 4 KiB fdatasync takes {fsync:.2f} ms on this "
            f"disk) {w.commit:.2f} ms; the lock was held {100 * w.busy:.0f} % of the time. At "
            f"{per:.1f} votes a transaction the lock allows about {per * 1000 / w.hold:,.0f} "
            "votes/s, and a batch grows when more writers queue"
            + (
                ": the lock is not what limits votes here."
                if w.busy < 0.8
                else ", but it was seldom free: writers queued behind it."
            )
            + " A leader waited "
            f"{w.wait:.2f} ms (median) for the other worker's turn and BEGIN IMMEDIATE; a vote "
            f"took {w.queued:.2f} ms (p90 {w.queued_p90:.2f} ms) from `db.write` to its "
            "COMMIT done."
        )
    ceiling_votes = CPUS * 1e6 / cpu
    own = cpu - base_cpu
    lines.append(
        f"- **CPU.** A vote cost the server {cpu:,.0f} µs of CPU, {cpu / base_cpu:.1f} × the "
        f"baseline POST's {base_cpu:,.0f} µs (gunicorn, Flask and a JSON body, in the same "
        f"workers): {own:,.0f} µs a vote is vswidget's own work. At that cost {CPUS} cores "
        f"to the server would give at most {ceiling_votes:,.0f} votes/s. 1,000 votes/s on "
        f"{CPUS} cores needs under {budget:,.0f} µs a vote (wrk and the rest take the other "
        "tenth)"
        + (
            f": {cpu - budget:,.0f} µs ({100 * (cpu - budget) / cpu:.0f} %) must go, "
            f"{100 * (cpu - budget) / own:.0f} % of what vswidget adds to the baseline."
            if cpu > budget
            else ", which this vote is."
        )
    )
    if profile is not None:
        shares = profile[1].shares()
        top = ", ".join(
            f"{name.split(' (')[0].split(':')[0]} {share:.0f} %" for name, share in shares[:6]
        )
        lines.append(
            "- **Where a vote's request threads were** (py-spy, see below; time, not CPU: "
            f"COMMIT's fsync and the writers' turns are mostly waiting): {top}."
        )
    if "sync-normal" in votes:
        n_run, n_ratio, n_cpu = figures("sync-normal")
        n_w = n_run.writes
        detail = ""
        if n_w is not None:
            detail = (
                f", {n_run.acknowledged / n_w.count:.1f} votes a transaction, the lock held "
                f"{n_w.hold:.2f} ms (COMMIT {n_w.commit:.2f} ms)"
            )
        lines.append(
            f"- **synchronous=NORMAL** (a what-if, not shipped): {n_run.rps:,.0f} votes/s, "
            f"{n_ratio:.2f} of its baseline (as shipped {ratio:.2f}), {n_cpu:,.0f} µs of CPU a "
            f"vote{detail}. In WAL mode COMMIT then writes the WAL without fsync, synced at "
            "checkpoints: an acknowledged vote still survives a crash or SIGKILL of the server "
            "process and the database is never corrupted, but an OS crash or power loss can "
            "lose the votes committed since the last checkpoint, which docs/readers.md would "
            "have to say."
        )
    lines.append("")
    others = statistics.median(r.others for m in measured for runs in m.runs.values() for r in runs)
    if run.rps >= 1000:
        lines.append(f"The goal of 1,000 durable votes/s is met on this machine ({run.rps:,.0f}).")
    elif ceiling_votes < 1000 / 0.9:
        lines.append(
            "What 1,000 votes/s would still need: less CPU a vote"
            + (
                ", and shorter transactions or larger batches, for the write lock was held "
                f"{100 * w.busy:.0f} % of the time"
                if w is not None and w.busy >= 0.8
                else ", for the write lock is not the limit"
            )
            + ". The SQL is a small part of a vote now; the rest is request handling "
            "around it: Flask and Werkzeug (routing, the request and response objects, hooks), "
            "Flask-Limiter's in-process counters, itsdangerous (the ticket, and the receipt "
            "read and signed), marshmallow (the body's schema), JSON, and forgetting the "
            "cached payloads; the py-spy table below says how much each takes. Or the server "
            "needs cores of its own: processes not started by the benchmark used a median "
            f"{others:.0f} % of this machine while it measured."
        )
    else:
        lines.append(
            f"The CPU would allow {ceiling_votes:,.0f} votes/s on {CPUS} cores to the server, "
            f"more than the {run.rps:,.0f} measured: wrk and processes not started by the "
            f"benchmark (a median {others:.0f} % of the machine) share those cores, so 1,000 "
            "votes/s needs a machine whose cores the server has to itself."
        )
    return lines + events_findings(measured)


def events_findings(measured: list[Measured]) -> list[str]:
    """Return what the SQLite event measurements say about 3,000 events/s, with figures."""
    for m in measured:
        if m.backend.name != "SQLite" or m.variant != "as-is":
            continue
        for target in m.targets:
            if target.kind != "events":
                continue
            runs = m.runs[target.key]
            run = median_run(runs)
            cpu = statistics.median(r.server_us for r in runs)
            base = statistics.median(r.server_us for r in m.runs[target.baseline])
            bounds = [ceiling(runs, BATCH)]
            text = (
                f"Events, for comparison: a batch of {BATCH} cost {cpu:,.0f} µs of server CPU "
                f"({cpu / base:.0f} × the baseline POST), so the CPU would allow "
                f"{bounds[0]:,.0f} events/s on {CPUS} cores to itself, against the "
                f"{run.rps * BATCH:,.0f} measured"
            )
            if run.writes is not None:
                w = run.writes
                per = run.acknowledged / w.count
                bounds.append(per * BATCH * 1000 / w.hold)
                text += (
                    f"; a transaction held {per:.1f} batches and the write lock {w.hold:.2f} ms "
                    f"(COMMIT {w.commit:.2f} ms), a bound of {bounds[1]:,.0f} events/s"
                )
            verdict = "within" if min(bounds) >= 3000 else "beyond"
            return [
                "",
                f"{text}: 3,000 events/s is {verdict} what these bounds allow. A batch spreads "
                "one request over its events, and group commit one transaction and one fsync "
                "over the batches queued meanwhile.",
            ]
    return []


def render_report(
    args: argparse.Namespace,
    measured: list[Measured],
    restart: Restart | None,
    disk: tuple[str, float, float],
    loads: tuple[str, str],
    profile: tuple[Run, Profile] | None,
    pg_note: str,
) -> str:
    """Return the section of docs/performance.md, Markdown."""
    from importlib.metadata import version

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = ".venv/bin/python benchmarks/writes.py" + "".join(
        " " + shlex.quote(re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", a)) for a in sys.argv[1:]
    )
    settings = " ".join(f"--{k} {v}" for k, v in GUNICORN.items())
    goal_lines, mismatches = verdicts(measured)
    kind, fsync_median, fsync_p90 = disk
    lines = [
        SECTION,
        "",
        f"Measured {now} by `benchmarks/writes.py`; reproduce with `{command}`.",
        "",
        f"- machine: `nproc` {CPUS}, {cpu_model()}, Linux {platform.release()}, Python "
        f"{platform.python_version()}; load average {loads[0]} at the start, {loads[1]} at the "
        "end (shared with other work: see *others*)",
        f"- code: {code_version()}",
        f"- server: gunicorn {version('gunicorn')}, Flask {version('flask')}, SQLAlchemy "
        f"{version('sqlalchemy')}; every server runs `gunicorn {settings}` (what `vswidget "
        "serve --workers 2` sets) on 127.0.0.1, serving `benchmarks/writes.py`'s "
        "`make_application()`: vswidget's app as `vswidget serve` loads it (with its jobs "
        "thread: webhooks, and the event rollup every 60 s) and, under `/baseline`, a minimal "
        "Flask app whose POST endpoints parse the same JSON body and answer a small JSON "
        "dict (200) or nothing (204), storing nothing, in the same worker processes; "
        f"`VSWIDGET_VOTE_RATE_LIMIT` and `VSWIDGET_EVENT_RATE_LIMIT` raised to {LIMIT}, "
        f"and `VSWIDGET_EVENT_ADDRESS_BUDGET` and `VSWIDGET_EVENT_COMPARISON_BUDGET` to "
        f"{int(BUDGET):,} (every request comes from 127.0.0.1): nothing is dropped, and every "
        "batch is still counted against both budgets",
        f"- disk: the instance folder is on {kind}; a 4 KiB append + fdatasync there takes "
        f"{fsync_median:.2f} ms (median, p90 {fsync_p90:.2f} ms) over 200 tries",
        f"- data: {EXAMPLE.relative_to(ROOT)} (2 items); a vote is "
        '`{"ticket": T, "item": K}` as text/plain, K alternating between the items, the ticket '
        "from `GET /v1/payload/TOKEN`, and each request has a User-Agent of its own "
        "(`PREFIX-THREAD-N`), so it is a new reader and inserts a vote; an event batch is "
        f"{BATCH} impressions and views of one embed token on a blog page, with a desktop "
        "Chrome User-Agent",
        f"- load: {wrk_version()}, {WRK_CONNECTIONS} threads of one keep-alive connection "
        f"each (closed and reopened every {REOPEN} requests, so both workers get some), "
        f"{args.seconds:g} s per measurement, {args.rounds} rounds; every server runs for the "
        "whole run, and each round measures all of them in turn, one (baseline, subject) "
        "pair after another, starting one pair later each round, baseline and subject "
        "swapping places. Each wrk thread stops at its first answer after the "
        "time is up, so nothing is in flight when wrk ends: *acknowledged* (votes answered "
        "200, events in batches answered 204) is compared with what the database holds "
        "afterwards, *stored* (votes: `votes` of `GET /api/v1/comparisons/SLUG`; events: "
        "`SELECT count(*) FROM events`), summed over the rounds",
    ]
    if pg_note:
        lines.append(f"- PostgreSQL: {pg_note}")
    variants = sorted({m.variant for m in measured} - {"as-is"}, key=list(VARIANTS).index)
    if variants:
        lines.append(
            "- variants (`--variants`): votes on SQLite again, each in a gunicorn of its own "
            "(same settings, instance folder of its own), "
            "with what a change in src/ would give, applied in the workers by "
            "`benchmarks/writes.py` (src/ unchanged, nothing of it shipped): "
            + "; ".join(f"*{v}*: {VARIANTS[v]}" for v in variants)
        )
    lines += ["", *table_lines(measured), "", *goal_lines]
    if mismatches:
        lines += ["", "**Counts that did not match:**", "", *(f"- {m}" for m in mismatches)]
    else:
        lines.append(
            "- every acknowledged vote and event was stored, and nothing else: "
            "acknowledged = stored in every measurement, no error status, no request "
            "left unanswered."
        )
    lines += [
        "",
        "How to read it: *req/s* and the latencies are wrk's in the median round (by req/s); "
        "*ratio to baseline* is the median over rounds of subject req/s / baseline req/s, "
        "measured seconds apart on the same server. *Server CPU µs/req* is the CPU time of the "
        "gunicorn master and workers (from /proc) per answered request, median over rounds, "
        f"and the *CPU ceiling* {CPUS} × 10⁶ / that (× {BATCH} for events): what the server "
        "could answer if it had every core to itself, wrk and other work aside; it moves "
        "much less with other load than req/s does. *Others* is the "
        "share of the machine that processes not started by the benchmark used meanwhile "
        f"(from /proc/stat); before each measurement the script waits up to {args.max_wait:g} "
        f"s for it to fall under {args.quiet:g} %. PostgreSQL's own processes are not the "
        "benchmark's: their CPU counts in *others*, not in *server CPU*.",
        "",
        "Write transactions, as the workers timed them (`Database.writing_sql` and "
        "`WriterQueue.together`, wrapped by `benchmarks/writes.py`) in the median round. On "
        "SQLite votes and event batches commit in groups: the writes a worker's threads queue "
        "while a transaction runs go into the next one, a savepoint each when there are "
        "several, so `Database.writing_sql` runs once per *batch*, in the thread that leads it. "
        "*Writes per transaction* is the requests acknowledged (votes, or batches of events) "
        "÷ the transactions. *Wait* is from "
        "the call of `Database.writing_sql` to BEGIN IMMEDIATE done: the writers' turn (the "
        "worker's lock, then the `flock` on `<database>-writers.lock` that the other worker may "
        "hold) and SQLite's write lock; a grouped write's leader already holds its worker's "
        "lock, so for votes and events this is mostly the other worker's turn. *Hold* is from "
        "BEGIN done to COMMIT done, the whole batch, and the share of the run during which some "
        "transaction held the lock. One transaction at a time holds it, so writes per "
        "transaction / hold bounds the writes per second however many cores there are. *A "
        "write: call to COMMIT done* is, per vote or event batch, the time from "
        "`WriterQueue.together` to its transaction committed: waiting for the worker's lock "
        "(the batch before it), then its own batch's wait and hold. On PostgreSQL `db.write` is "
        "a plain transaction per write and transactions overlap (a vote locks its item's tally "
        "row only), so the bound and the share do not apply. A thread that loses its core "
        "between COMMIT and the clock counts that time as held too, so on a busy machine the "
        "share can pass 100 %.",
        "",
        *writes_lines(measured),
    ]
    found = findings(measured, fsync_median, profile)
    if found:
        lines += ["", *found]
    if profile is not None:
        lines += ["", "### Where a durable vote's time goes", "", *profile[1].lines(profile[0])]
    if restart is not None:
        lost = max(0, restart.accepted - restart.stored)
        failures = ", ".join(f"{n} × {k}" for k, n in restart.failures.most_common()) or "none"
        lines += [
            "",
            "### A graceful restart under load",
            "",
            f"`vswidget serve --workers 2 --threads 4` (tests/live.py's LiveServer, SQLite); "
            f"{args.clients} client threads (httpx, keep-alive) post batches of {BATCH} events "
            f"for {restart.seconds:.0f} s; {len(restart.reloads)} × SIGHUP to the gunicorn "
            f"master, {args.settle:g} s apart, each a graceful reload: new workers start, old "
            "ones finish what they hold and exit (graceful timeout 20 s). Then `SELECT count(*) "
            "FROM events` in the SQLite file.",
            "",
            "| events accepted (in batches answered 204) | events stored | lost | "
            "batches answered 204 | client errors | SIGHUP → old workers gone | "
            "events accepted meanwhile |",
            "|---:|---:|---:|---:|---|---|---|",
            f"| {restart.accepted:,} | {restart.stored:,} | {lost:,} | {restart.batches:,} | "
            f"{failures} | {', '.join(f'{s:.1f} s' for s in restart.reloads)} | "
            f"{', '.join(f'{n:,}' for n in restart.during)} |",
            "",
            f"**Accepted {restart.accepted:,}, stored {restart.stored:,}, lost {lost:,}.**"
            + (
                f" {restart.stored - restart.accepted:,} more events were stored than "
                "acknowledged: batches whose answer a client never got."
                if restart.stored > restart.accepted
                else ""
            ),
        ]
    return "\n".join(lines) + "\n"


def add_readme_line() -> None:
    """Append this script's line to benchmarks/README.md, if that file exists and lacks it."""
    if not README.exists():
        return
    text = README.read_text()
    if "writes.py" in text:
        return
    line = (
        "- `writes.py`: durable votes (`POST /v1/votes`, each a new reader) and event batches "
        "(`POST /v1/events`) per second under gunicorn on SQLite, and on PostgreSQL with "
        "`--postgresql URL`, against a minimal Flask POST in the same workers, with wrk; "
        "acknowledged = stored after every measurement; no event lost across a graceful "
        "reload (SIGHUP); `--variants` measures what changes in src/ would give, `--profile` "
        "samples the workers with py-spy; `.venv/bin/python benchmarks/writes.py --variants "
        "--profile --postgresql URL` (about 15 minutes; `--quick`: about 5, prints only); "
        "needs wrk, and py-spy for `--profile`\n"
    )
    README.write_text(text.rstrip("\n") + "\n" + line)


# -- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="seconds per wrk measurement (10; 3 quick)")
    parser.add_argument("--quick", action="store_true", help="3 s measurements, 2 rounds")
    parser.add_argument("--rounds", type=int, help="rounds of measurements (3; 2 quick)")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"),
        help="also measure on this PostgreSQL database, in the schema vsw_bench "
        "(default: $VSWIDGET_TEST_DATABASE_URL)",
    )
    parser.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    parser.add_argument(
        "--variants", action="store_true", help="also measure SQLite votes with each VARIANT"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the workers during votes")
    parser.add_argument("--no-restart", action="store_true", help="skip the SIGHUP test")
    parser.add_argument("--reloads", type=int, default=2, help="SIGHUPs in the restart test (2)")
    parser.add_argument(
        "--settle", type=float, default=3, help="seconds of load around each SIGHUP (3)"
    )
    parser.add_argument("--clients", type=int, default=4, help="client threads, restart test (4)")
    parser.add_argument(
        "--quiet", type=float, default=20, help="%% of the CPU others may use while measuring (20)"
    )
    parser.add_argument(
        "--max-wait", type=float, default=20, help="seconds to wait for quiet, per measurement (20)"
    )
    parser.add_argument(
        "--wait-budget", type=float, default=300, help="seconds to wait for quiet in all (300)"
    )
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        help="write docs/performance.md (default: on for full runs, off with --quick)",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.docs = (not args.quick) if args.docs is None else args.docs
    if args.no_postgresql:
        args.postgresql = None
    if not (0.5 <= args.seconds <= 120 and 1 <= args.rounds <= 10):
        parser.error("use 0.5..120 seconds and 1..10 rounds")
    if not (1 <= args.reloads <= 5 and 0.5 <= args.settle <= 30 and 1 <= args.clients <= 16):
        parser.error("use 1..5 reloads, 0.5..30 s of --settle and 1..16 clients")
    if not (0 <= args.max_wait <= 300 and 0 <= args.wait_budget <= 3600):
        parser.error("use 0..300 s of --max-wait and 0..3600 s of --wait-budget")
    return args


def postgresql_note(url: str) -> str:
    """Say which PostgreSQL was measured, and how it commits."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            commit = connection.execute(text("SHOW synchronous_commit")).scalar_one()
            fsync = connection.execute(text("SHOW fsync")).scalar_one()
    finally:
        engine.dispose()
    return (
        f"server {version} on 127.0.0.1 (shared with other work), `synchronous_commit={commit}`, "
        f"`fsync={fsync}`, in a schema of its own (`{PG_SCHEMA}`, dropped afterwards); the "
        "cache and rate limiter are in-process, as on SQLite"
    )


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install -y wrk`.", file=sys.stderr)
        return 2
    stop_on_sigterm()
    loads_start = load_average()
    print(f"load average {loads_start}; {CPUS} CPUs", flush=True)
    patience = Patience(args.quiet, args.max_wait, args.wait_budget)
    measured: list[Measured] = []
    restart: Restart | None = None
    profile: tuple[Run, Profile] | None = None
    pg_note = ""
    with ExitStack() as stack:
        temp = Path(tempfile.mkdtemp(prefix="vswidget-writes-", dir="/var/tmp"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)
        lua = temp / "writes.lua"
        kind = filesystem(temp)
        fsync_median, fsync_p90 = fsync_probe(temp)
        print(f"disk: {kind}; fdatasync {fsync_median:.2f} ms median", flush=True)

        with ExitStack() as servers:
            found = servers.enter_context(backend("SQLite", temp, None))
            chosen = [(found, "as-is", targets_for(found))]
            if args.variants:
                for variant in list(VARIANTS)[1:]:
                    other = servers.enter_context(backend("SQLite", temp, None, variant))
                    chosen.append((other, variant, targets_for(other, variant)[:2]))
            if args.postgresql:
                url = servers.enter_context(postgresql_schema(args.postgresql))
                other = servers.enter_context(backend("PostgreSQL", temp, url))
                chosen.append((other, "as-is", targets_for(other)))
                pg_note = postgresql_note(url)
            else:
                pg_note = "not measured (no `--postgresql URL` and no VSWIDGET_TEST_DATABASE_URL)"
            every = [t for _, _, targets in chosen for t in targets]
            runs = measure(every, args.rounds, args.seconds, lua, patience)
            for server, variant, targets in chosen:
                mine = {t.key: runs[t.key] for t in targets}
                measured.append(Measured(server, targets, mine, variant))
            if args.profile:
                patience.settle()
                profile = profile_votes(found, args.seconds, lua, temp)
        if not args.no_restart:
            restart = restart_under_load(temp, args.reloads, args.settle, args.clients)

    section = render_report(
        args,
        measured,
        restart,
        (kind, fsync_median, fsync_p90),
        (loads_start, load_average()),
        profile,
        pg_note,
    )
    print("\n" + section)
    if args.docs:
        embed.write_doc(section, SECTION)
        add_readme_line()
        print(f"written to {DOC.relative_to(ROOT)}")
    else:
        print("(docs/performance.md not updated: pass --docs to write a quick run)")
    _, mismatches = verdicts(measured)
    lost = restart is not None and restart.stored < restart.accepted
    return 1 if mismatches or lost else 0


if __name__ == "__main__":
    from embed import run_main

    run_main(main, "writes.py", (Failed,))
