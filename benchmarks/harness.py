"""What every benchmark shares: servers on 127.0.0.1, CPU meters, a quiet machine, results.

The scripts in benchmarks/ import it (Python puts their folder first on sys.path). Every
process started here runs in a process group of its own and is stopped when its block ends,
also on an error and on Ctrl-C. What a run records is record.py's.
"""

from __future__ import annotations

import argparse
import os
import secrets
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
from typing import Any, NoReturn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATIC = ROOT / "src" / "vswidget" / "server" / "static"  # widget.js and widget.css
FIXTURES = HERE / "fixtures"  # pages, scripts and data the benchmarks serve or publish
# The comparisons published: the big one (4 items, 12 reviewers, a quote of several sentences
# on every item: the largest a publisher is likely to write) and a small one (2 items, 4).
BIG = FIXTURES / "big-comparison.yaml"
SMALL = ROOT / "examples" / "comparisons" / "sqlite-vs-postgresql.yaml"
HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
# Rate limits raised: every request of a benchmark comes from 127.0.0.1.
RAISED_LIMIT = "100000000/minute"

# The options `vswidget serve --workers 2` gives gunicorn (src/vswidget/server/serving.py, with
# the default --threads 16 and no access log), for every server measured.
WORKERS = 2
GUNICORN = {
    "workers": WORKERS,
    "threads": 16,
    "worker-class": "gthread",
    "graceful-timeout": 20,
    "forwarded-allow-ips": "127.0.0.1,::1",
}
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


def backends(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Return the backends ``--backends`` names that can run here, and the ones skipped
    (PostgreSQL without ``--postgresql URL``), said as a results file says them."""
    chosen, skipped = [], []
    for backend in (name.strip() for name in args.backends.split(",") if name.strip()):
        if backend == "postgresql" and not args.postgresql:
            skipped.append("PostgreSQL (no --postgresql URL)")
        else:
            chosen.append(backend)
    return chosen, skipped


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
