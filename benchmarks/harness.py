"""What every benchmark shares: servers on 127.0.0.1, CPU meters, a quiet machine, results.

The scripts in benchmarks/ import it (Python puts their folder first on sys.path). Every
process started here runs in a process group of its own and is stopped when its block ends,
also on an error and on Ctrl-C. Results are saved as JSON in benchmarks/results/, and
benchmarks/render.py puts their tables into the docs.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
STATIC = ROOT / "src" / "vswidget" / "server" / "static"  # widget.js and widget.css
HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
# Rate limits raised: every request of a benchmark comes from 127.0.0.1.
RAISED_LIMIT = "100000000/minute"

# The options `vswidget serve --workers 2` gives gunicorn (src/vswidget/server/serving.py, with
# the default --threads 4), for every server measured.
GUNICORN = {
    "workers": 2,
    "threads": 4,
    "worker-class": "gthread",
    "access-logfile": "-",
    "graceful-timeout": 20,
    "forwarded-allow-ips": "127.0.0.1,::1",
}
WORKERS = int(GUNICORN["workers"])
WRK_CONNECTIONS = 16
# Every REOPEN-th request of a wrk connection asks the server to close it, and wrk opens a new
# one. A gthread worker keeps a keep-alive connection for its whole life, and when wrk opens
# its connections at once one worker often accepts them all while the other idles; reopening
# now and then lets them spread over both workers, as many clients would.
REOPEN = 100


class Failed(Exception):
    """A step of a benchmark could not be done; the message says which and why."""


# -- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def clean_env(instance: Path, **extra: str) -> dict[str, str]:
    """Return this environment without VSWIDGET_* settings, on the given instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSWIDGET_", "WRITES_"))}
    env["VSWIDGET_INSTANCE_PATH"] = str(instance)
    env.update(extra)
    return env


def vswidget_cli(env: dict[str, str], *args: str) -> str:
    command = [str(Path(sys.executable).with_name("vswidget")), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise Failed(f"`vswidget {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def new_instance(env: dict[str, str]) -> str:
    """Migrate the instance folder of ``env`` and create a publisher; return its API key."""
    vswidget_cli(env, "db", "upgrade")
    return vswidget_cli(env, "publisher", "create", "bench").strip().splitlines()[-1]


@contextmanager
def serving(
    name: str,
    command: list[str],
    port: int,
    logs: Path,
    env: dict[str, str] | None = None,
    ready: str = "/healthz",
    seconds: float = 30,
    stop_signal: int = signal.SIGINT,
) -> Iterator[Server]:
    """Run a server on 127.0.0.1:``port`` until the block ends, ready once GET ``ready`` is 200."""
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches only us
        )
    server = Server(name, f"http://{HOST}:{port}", process, log)
    try:
        wait_ready(server, seconds, ready)
        yield server
    finally:
        stop(process, stop_signal)


@contextmanager
def vswidget_serve(temp: Path) -> Iterator[tuple[Server, str]]:
    """Run `vswidget serve --workers 2` on a new instance folder; yield it and an API key."""
    port = free_port()
    env = clean_env(
        temp / "instance",
        VSWIDGET_SECRET_KEYS=secrets.token_urlsafe(32),
        VSWIDGET_PUBLIC_URL=f"http://{HOST}:{port}",
    )
    key = new_instance(env)
    command = [str(Path(sys.executable).with_name("vswidget")), "serve", "--host", HOST]
    command += ["--port", str(port), "--workers", "2"]
    with serving("vswidget", command, port, temp, env, seconds=60) as server:
        yield server, key


def gunicorn(
    name: str,
    env: dict[str, str],
    logs: Path,
    app: str = "embed_app:make_application()",
    python: str = sys.executable,
    ready: str = "/healthz",
) -> Any:
    """Serve ``app`` (a module of benchmarks/ by default) with gunicorn and GUNICORN's options."""
    port = free_port()
    command = [python, "-m", "gunicorn", "--bind", f"{HOST}:{port}"]
    for option, value in GUNICORN.items():
        command += [f"--{option}", str(value)]
    command += ["--pythonpath", str(HERE), app]
    return serving(name, command, port, logs, env, ready)


def stop(process: subprocess.Popen[bytes], stop_signal: int = signal.SIGINT) -> None:
    """Stop a server and its workers: ``stop_signal`` (SIGINT: gunicorn's quick shutdown), then
    SIGKILL to its process group."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:  # workers left behind by a master that died: its group is ours alone
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def wait_ready(server: Server, seconds: float = 30, path: str = "/healthz") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise Failed(f"{server.name} exited at start:\n{tail(server.log)}")
        try:
            with urllib.request.urlopen(server.base + path, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise Failed(f"{server.name} did not answer {path} within {seconds:.0f} s")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return the status, headers and body, also of an error status."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextmanager
def host_site(pages: dict[str, bytes]) -> Iterator[str]:
    """Serve a few in-memory pages on 127.0.0.1 from a thread; yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def postgresql_schema(base_url: str, schema: str) -> Iterator[str]:
    """Create ``schema`` (dropping a leftover one); yield a URL that uses it; drop it then."""
    from sqlalchemy import create_engine, text

    if base_url.startswith(("postgresql://", "postgres://")):
        base_url = "postgresql+psycopg://" + base_url.split("://", 1)[1]
    admin = create_engine(base_url)
    try:
        try:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {schema}"))
        except Exception as error:
            raise Failed(f"cannot create the schema {schema}: {error}") from None
        try:
            yield base_url + ("&" if "?" in base_url else "?") + f"options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        admin.dispose()


# -- CPU accounting: this machine is shared, so each measurement says how busy the others were.

TICK = os.sysconf("SC_CLK_TCK")
CPUS = len(os.sched_getaffinity(0))


def busy_seconds() -> float:
    """Return the user + nice + system CPU time of the whole machine so far."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:4]
    return sum(int(x) for x in fields) / TICK


def process_table() -> dict[int, tuple[int, int, float]]:
    """Return every process: pid -> (parent, process group, CPU seconds so far, with those of
    its children that have exited and been waited for)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        cpu = sum(int(x) for x in fields[11:15]) / TICK
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), cpu)
    return table


def descendants(root: int, table: dict[int, tuple[int, int, float]] | None = None) -> list[int]:
    """Return ``root`` and all its descendants, parents first."""
    table = process_table() if table is None else table
    tree: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop(0)
        if pid in table and pid not in tree:
            tree.append(pid)
            todo += [child for child, (parent, _, _) in table.items() if parent == pid]
    return tree


def children(pid: int) -> set[int]:
    """Return the pids of a process's children (gunicorn's workers, for a master)."""
    return {child for child, (parent, _, _) in process_table().items() if parent == pid}


@dataclass
class Usage:
    elapsed: float  # seconds
    cpu: float  # CPU seconds of the process group measured
    cores: list[float]  # CPU of each of its processes but the leader, in cores, busiest first
    others: float  # CPU used meanwhile by processes not ours, % of the machine


class CpuMeter:
    """CPU used from now until ``stop()``: by one process group of ours, and by everyone else."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.busy0, self.ours0 = busy_seconds(), self.ours()

    @staticmethod
    def ours() -> dict[int, tuple[int, float]]:
        """Return this process and its descendants (gunicorn, wrk, Chromium...): group, CPU s."""
        table = process_table()
        return {pid: table[pid][1:] for pid in descendants(os.getpid(), table)}

    def stop(self, group: int = -1) -> Usage:
        """Return what was used; a process that ended counts in its parent's reaped time."""
        elapsed = time.monotonic() - self.t0
        now = self.ours()
        used = {pid: cpu - self.ours0.get(pid, (0, 0.0))[1] for pid, (_, cpu) in now.items()}
        mine = {pid: cpu for pid, cpu in used.items() if now[pid][0] == group}
        others = max(0.0, busy_seconds() - self.busy0 - sum(used.values()))
        cores = sorted((cpu / elapsed for pid, cpu in mine.items() if pid != group), reverse=True)
        return Usage(elapsed, sum(mine.values()), cores, 100 * others / (elapsed * CPUS))


def others_now(seconds: float = 1.0) -> float:
    """Return the share of the machine (%) that processes not ours use over ``seconds``."""
    meter = CpuMeter()
    time.sleep(seconds)
    return meter.stop().others


@dataclass
class Patience:
    """How long to wait for a quiet machine, and how often to measure again."""

    quiet: float  # % of the machine other processes may use
    wait: float  # seconds to wait for quiet before one measurement
    budget: float  # seconds of waiting in the whole run
    retries: int = 0  # extra attempts for a measurement that was disturbed or unbalanced

    def settle(self) -> float:
        """Wait until other processes are quiet, within this measurement's and the run's limit;
        return the share of the machine they used in the last second."""
        deadline = time.monotonic() + min(self.wait, self.budget)
        started = time.monotonic()
        while (others := others_now()) >= self.quiet and time.monotonic() < deadline:
            print(f"  waiting: other processes use {others:.0f}% of the CPU", flush=True)
        self.budget = max(0.0, self.budget - (time.monotonic() - started))
        return others


def patience_options(
    parser: argparse.ArgumentParser,
    quiet: float,
    max_wait: float,
    wait_budget: float,
    retries: int | None = None,
) -> None:
    """Add the options of a Patience: --quiet, --max-wait, --wait-budget (and --retries)."""
    options: list[tuple[str, type, float, str]] = [
        ("--quiet", float, quiet, "%% of the CPU others may use while measuring"),
        ("--max-wait", float, max_wait, "seconds to wait for quiet, per measurement"),
        ("--wait-budget", float, wait_budget, "seconds to wait for quiet in all"),
    ]
    if retries is not None:
        options.append(("--retries", int, retries, "extra attempts of a disturbed measurement"))
    for option, kind, default, text in options:
        parser.add_argument(option, type=kind, default=default, help=f"{text} ({default:g})")


def patience(args: argparse.Namespace) -> Patience:
    """Return the Patience the options ask for."""
    return Patience(args.quiet, args.max_wait, args.wait_budget, getattr(args, "retries", 0))


def load_options(parser: argparse.ArgumentParser, rounds: int, quick_rounds: int) -> None:
    """Add --seconds, --quick, --rounds and --save, the options of every wrk benchmark."""
    parser.add_argument("--seconds", type=float, help="seconds per wrk measurement (10; 3 quick)")
    parser.add_argument("--quick", action="store_true", help="3 s measurements, fewer rounds")
    parser.add_argument("--rounds", type=int, help=f"rounds ({rounds}; {quick_rounds} quick)")
    save_option(parser)
    parser.set_defaults(full_rounds=rounds, quick_rounds=quick_rounds)


def save_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--save",
        action=argparse.BooleanOptionalAction,
        help="save benchmarks/results/NAME.json (default: on for full runs, off with --quick)",
    )


def checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Fill the defaults that depend on --quick; refuse values out of their bounds."""
    quick = getattr(args, "quick", False)
    if hasattr(args, "seconds"):
        args.seconds = args.seconds or (3.0 if quick else 10.0)
        args.rounds = args.rounds or (args.quick_rounds if quick else args.full_rounds)
        if not (0.5 <= args.seconds <= 120 and 1 <= args.rounds <= 10):
            parser.error("use 0.5..120 seconds and 1..10 rounds")
    args.save = (not quick) if args.save is None else args.save
    if hasattr(args, "max_wait") and not (
        0 <= getattr(args, "retries", 0) <= 5
        and 0 <= args.max_wait <= 300
        and 0 <= args.wait_budget <= 3600
    ):
        parser.error("use 0..5 retries, 0..300 s of --max-wait and 0..3600 s of --wait-budget")
    return args


# -- what was measured -----------------------------------------------------------------------


class Rated(Protocol):
    rps: float


R = TypeVar("R", bound=Rated)


def median_run(runs: list[R]) -> R:
    """Return the run with the median requests per second (the lower middle one if even)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def ratios(subject: list[Any], baseline: list[Any]) -> list[float]:
    """Return the subject/baseline ratio of requests per second, round by round."""
    return [s.rps / b.rps for s, b in zip(subject, baseline, strict=True) if b.rps > 0]


def cpu_ratios(subject: list[Any], baseline: list[Any]) -> list[float]:
    """Return baseline/subject server CPU per request, round by round: 1.0 is as cheap."""
    pairs = zip(subject, baseline, strict=True)
    return [b.server_us / s.server_us for s, b in pairs if s.server_us > 0]


def rounds_text(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100), linear between the nearest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def br(data: bytes) -> int | None:
    try:
        import brotli
    except ImportError:
        return None
    return len(brotli.compress(data, quality=11))


# -- the machine and the code ----------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def code_version() -> str:
    """Return the commit measured, and whether the work tree had changes on top of it."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown (no git)"
    described = done.stdout.strip() or "unknown"
    if described.endswith("-dirty"):
        return f"commit {described.removesuffix('-dirty')} with uncommitted changes"
    return f"commit {described}"


def tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "?"


def machine(loads: tuple[str, str]) -> dict[str, Any]:
    """Return the notes every result carries about the machine it was measured on."""
    return {
        "cpus": CPUS,
        "cpu": cpu_model(),
        "linux": platform.release(),
        "python": platform.python_version(),
        "load_average": list(loads),
    }


def command_line(script: str) -> str:
    """Return how this run was started, passwords in URLs hidden."""
    return f".venv/bin/python benchmarks/{script}" + "".join(
        " " + shlex.quote(re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", a)) for a in sys.argv[1:]
    )


# -- results -----------------------------------------------------------------------------------

Column = tuple[str, int | None]  # a header, and the decimals of its numbers (None: text)


def table(columns: list[Column], rows: list[list[Any]]) -> dict[str, Any]:
    """Return a table as saved in a result: numbers stay numbers, render.py formats them."""
    return {"columns": [list(c) for c in columns], "rows": rows}


def save(name: str, loads: tuple[str, str], tables: dict[str, Any], **more: Any) -> Path:
    """Save a run's results as benchmarks/results/NAME.json; return its path."""
    path = RESULTS / f"{name}.json"
    data = {
        "measured": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(f"{name}.py"),
        "code": code_version(),
        "machine": machine(loads),
        **more,
        "tables": tables,
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"saved {path.relative_to(ROOT)}; `python benchmarks/render.py` puts it in the docs")
    return path


# -- running a script ------------------------------------------------------------------------


def wrk_missing() -> bool:
    """Say how to install wrk when it is missing; return whether it is."""
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install -y wrk`.", file=sys.stderr)
        return True
    return False


def run_main(main: Callable[[], int], name: str) -> NoReturn:
    """Exit with ``main()``'s status; a failure, SIGTERM or Ctrl-C ends it with one line."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        sys.exit(main())
    except Failed as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; every process it started is stopped.", file=sys.stderr)
        sys.exit(130)
