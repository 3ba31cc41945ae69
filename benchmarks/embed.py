"""Embed benchmark: payload reads against a minimal Flask baseline, and widget paint in Chromium.

    .venv/bin/python benchmarks/embed.py [--seconds N] [--quick]

In one run, on 127.0.0.1 only, this script

1. makes a temporary instance folder (SQLite, in-process cache: the embedded default), runs
   `vswidget db upgrade`, creates a publisher and publishes two comparisons with the SDK (the
   big one has 4 items and 12 reviewers with long quotes);
2. serves benchmarks/embed_app.py (vswidget and a minimal Flask baseline in the same process)
   with gunicorn, 2 gthread workers, the settings of `vswidget serve`, and a second, identical
   gunicorn with VSWIDGET_CACHE_URL=null:// for cold reads; then measures requests per second
   with wrk, rounds interleaving baseline and subject, and reports each subject as a ratio to
   the baseline measured next to it in the same server;
3. if src/vswidget/server/static/widget.js exists, loads a host page with the big comparison's
   snippet in headless Chromium (Playwright), a new context (cold HTTP cache) per load, and
   times script loaded -> widget painted, next to the same page with the same text as plain
   static HTML;
4. prints the tables and writes them into docs/performance.md (full runs only, unless --docs).

It needs wrk (`apt-get install -y wrk`) and, for the browser part, Chromium at
/usr/bin/chromium (`apt-get install -y chromium`) and Playwright for Python
(`.venv/bin/pip install playwright`; never `playwright install`). Every process it starts is
stopped, and every temporary folder deleted, on success, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import html
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Embed: payload reads and widget paint"
HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The options `vswidget serve --workers 2` gives gunicorn (src/vswidget/server/serving.py, with the
# default --threads 4), for every server measured here.
GUNICORN = {
    "workers": 2,
    "threads": 4,
    "worker-class": "gthread",
    "access-logfile": "-",
    "graceful-timeout": 20,
    "forwarded-allow-ips": "127.0.0.1,::1",
}
WRK_THREADS = 1
WRK_CONNECTIONS = 16

# Every REOPEN-th request of a wrk thread asks the server to close its connection, and wrk
# opens a new one. A gthread worker keeps a keep-alive connection for its whole life, and
# when wrk opens its connections at once one worker often accepts them all while the other
# idles; reopening now and then lets them spread over both workers, as many clients would.
REOPEN = 100
# READ_RATE_LIMIT raised: every request comes from 127.0.0.1, and reads Flask answers (cold
# builds) count against it; cache hits answered in front of Flask are not counted anyway.
READ_LIMIT = "100000000/minute"
REPORT_LUA = r"""
local count, normal, closing = 0, nil, nil

init = function(args)
  normal = wrk.format()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Connection"] = "close"
  closing = wrk.format(nil, nil, headers)
end

request = function()
  count = count + 1
  if count % REOPEN == 0 then return closing end
  return normal
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,'
    .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},'
    .. '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
""".replace("REOPEN", str(REOPEN))


class Failed(Exception):
    """A step of the benchmark could not be done; the message says which and why."""


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSWIDGET_")}
    env["VSWIDGET_INSTANCE_PATH"] = str(instance)
    env.update(extra)
    return env


APP = "embed_app:make_application()"


def gunicorn_command(port: int, app: str = APP, python: str = sys.executable) -> list[str]:
    """Return the gunicorn command line for ``app``, run by ``python``, with GUNICORN's options."""
    command = [python, "-m", "gunicorn", "--bind", f"{HOST}:{port}"]
    for name, value in GUNICORN.items():
        command += [f"--{name}", str(value)]
    return command + ["--pythonpath", str(HERE), app]


@contextmanager
def gunicorn(
    name: str,
    env: dict[str, str],
    logs: Path,
    app: str = APP,
    python: str = sys.executable,
    ready: str = "/healthz",
) -> Iterator[Server]:
    """Run one gunicorn on 127.0.0.1 until the block ends; stop it and its workers then.

    It serves ``app`` (benchmarks/embed_app.py's by default) with ``python``, and is ready
    once GET ``ready`` answers 200.
    """
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            gunicorn_command(port, app, python),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches only us
        )
    server = Server(name, f"http://{HOST}:{port}", process, log)
    try:
        wait_ready(server, path=ready)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn master and its workers: SIGINT (quick shutdown), then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
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
            raise Failed(f"gunicorn ({server.name}) exited at start:\n{tail(server.log)}")
        try:
            with urllib.request.urlopen(server.base + path, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise Failed(f"gunicorn ({server.name}) did not answer {path} within {seconds:.0f} s")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def vswidget_cli(env: dict[str, str], *args: str) -> str:
    command = [str(Path(sys.executable).with_name("vswidget")), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise Failed(f"`vswidget {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wire_size(url: str, headers: dict[str, str], status: int) -> int:
    """Return the bytes of an answer with ``status`` as sent: status line, headers, body."""
    parts = urlsplit(url)
    for _ in range(40):  # a new connection each time, so either worker may answer
        connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=10)
        try:
            connection.request("GET", parts.path + "?" + parts.query, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        if answer.status == status:
            head = f"HTTP/1.1 {answer.status} {answer.reason}\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in answer.getheaders()
            )
            head += "\r\n"
            return len(head.encode("latin-1")) + len(body)
    raise Failed(f"{url} did not answer {status} in 40 tries")


def etags_seen(url: str, times: int = 40) -> set[str]:
    """Return the ETags of ``times`` answers, 8 at a time over new connections: both workers."""
    with ThreadPoolExecutor(8) as pool:
        return set(pool.map(lambda _: fetch(url)[1].get("ETag", ""), range(times)))


# -- wrk ---------------------------------------------------------------------------------


# What a browser's fetch() sends; the server may answer compressed bodies to it.
ACCEPT_ENCODING = "gzip, deflate, br, zstd"


@dataclass
class Target:
    key: str
    label: str
    url: str
    status: int = 200
    baseline: str = ""  # key of the baseline this target is compared with
    if_none_match: str = ""
    server: Server | None = None
    # For the 304 target: returns the If-None-Match to send, read just before each run.
    refresh: Callable[[], str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if self.if_none_match:
            headers["If-None-Match"] = self.if_none_match
        return headers


@dataclass
class Run:
    rps: float
    p50: float  # milliseconds
    p90: float
    p99: float
    errors: int
    size: float  # bytes per response, headers included
    server_us: float  # CPU time of the server's processes per request, microseconds
    workers: list[float]  # CPU of each gunicorn worker, in cores, busiest first
    others: float  # CPU used meanwhile by processes not ours, % of the machine
    attempts: int = 1

    @property
    def balanced(self) -> bool:
        """Whether both workers served: a keep-alive connection stays with one worker."""
        return len(self.workers) >= 2 and self.workers[1] >= 0.5 * self.workers[0]


# -- CPU accounting: this machine is shared, so each measurement says how busy the others were.

TICK = os.sysconf("SC_CLK_TCK")
CPUS = len(os.sched_getaffinity(0))


def busy_seconds() -> float:
    """Return the user + nice + system CPU time of the whole machine so far."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:4]
    return sum(int(x) for x in fields) / TICK


@dataclass
class Proc:
    group: int
    own: float  # user + system CPU seconds of the process
    reaped: float  # ... and of its children that have exited and been waited for


def our_processes() -> dict[int, Proc]:
    """Return this process and all its descendants (gunicorn, wrk, Chromium...), by pid."""
    table: dict[int, tuple[int, Proc]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent, group = int(fields[1]), int(fields[2])
        own = (int(fields[11]) + int(fields[12])) / TICK
        reaped = (int(fields[13]) + int(fields[14])) / TICK
        table[int(entry.name)] = (parent, Proc(group, own, reaped))
    ours, todo = {}, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in ours:
            ours[pid] = table[pid][1]
            todo += [child for child, (parent, _) in table.items() if parent == pid]
    return ours


class CpuMeter:
    """CPU used from now until ``stop()``: by our processes, and by everyone else."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.busy0, self.ours0 = busy_seconds(), our_processes()

    def stop(self) -> tuple[float, dict[int, Proc], float]:
        """Return elapsed seconds, CPU seconds used by each of our processes, others' %.

        A process that ended meanwhile counts in its parent's reaped time.
        """
        elapsed = time.monotonic() - self.t0
        used = {}
        for pid, now in our_processes().items():
            before = self.ours0.get(pid, Proc(now.group, 0.0, 0.0))
            used[pid] = Proc(now.group, now.own - before.own, now.reaped - before.reaped)
        ours = sum(p.own + p.reaped for p in used.values())
        others = max(0.0, busy_seconds() - self.busy0 - ours)
        return elapsed, used, 100 * others / (elapsed * CPUS)


def others_now(seconds: float = 1.0) -> float:
    """Return the share of the machine (%) that processes not ours use over ``seconds``."""
    meter = CpuMeter()
    time.sleep(seconds)
    return meter.stop()[2]


def wrk(target: Target, seconds: float, lua: Path) -> Run:
    """Load one URL with wrk for ``seconds``; return throughput, latency and CPU use."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds:g}s"]
    command += ["--timeout", "5s", "-s", str(lua)]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    meter = CpuMeter()
    done = subprocess.run(
        [*command, target.url], capture_output=True, text=True, timeout=seconds + 60
    )
    elapsed, used, others = meter.stop()
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise Failed(f"wrk failed on {target.url}: {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.removeprefix("WRKJSON "))
    size = data["bytes"] / max(1, data["requests"])
    assert target.server is not None
    master = target.server.process.pid
    mine = {pid: p.own + p.reaped for pid, p in used.items() if p.group == master}
    return Run(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50=data["p50_us"] / 1000,
        p90=data["p90_us"] / 1000,
        p99=data["p99_us"] / 1000,
        errors=int(sum(data["errors"].values())),
        size=size,
        server_us=1e6 * sum(mine.values()) / max(1, data["requests"]),
        workers=sorted(
            (used / elapsed for pid, used in mine.items() if pid != master), reverse=True
        ),
        others=others,
    )


@dataclass
class Patience:
    """How long to wait for a quiet machine, and how often to measure again."""

    quiet: float  # % of the machine other processes may use
    wait: float  # seconds to wait for quiet before one measurement
    budget: float  # seconds of waiting in the whole run
    retries: int  # extra attempts for a measurement that was disturbed or unbalanced

    def settle(self) -> None:
        """Wait until other processes are quiet, within this measurement's and the run's limit."""
        deadline = time.monotonic() + min(self.wait, self.budget)
        started = time.monotonic()
        while (others := others_now()) >= self.quiet and time.monotonic() < deadline:
            print(f"  waiting: other processes use {others:.0f}% of the CPU", flush=True)
        self.budget = max(0.0, self.budget - (time.monotonic() - started))


def measure_one(target: Target, seconds: float, lua: Path, patience: Patience) -> Run:
    """Measure a target; measure again (bounded) if others were busy or one worker idle."""
    best: Run | None = None
    for attempt in range(1, patience.retries + 2):
        patience.settle()
        if target.refresh:
            target.if_none_match = target.refresh()
        run = wrk(target, seconds, lua)
        run.attempts = attempt
        if best is None or (run.balanced, -run.others) > (best.balanced, -best.others):
            best = run
        if run.balanced and run.others < patience.quiet:
            break
        why = "one worker got every connection" if not run.balanced else "others busy"
        print(f"  again ({why}: {run.rps:.0f} req/s, others {run.others:.0f}%)", flush=True)
    assert best is not None
    return best


def measure(
    targets: list[Target], rounds: int, seconds: float, lua: Path, patience: Patience
) -> dict[str, list[Run]]:
    """Run wrk on every target, round after round, each round starting one target later."""
    runs: dict[str, list[Run]] = {t.key: [] for t in targets}
    warm_up = min(2.0, seconds)
    print(f"warming up: {warm_up:g} s on each of {len(targets)} targets", flush=True)
    for target in targets:
        wrk(target, warm_up, lua)
    for number in range(rounds):
        order = targets[number % len(targets) :] + targets[: number % len(targets)]
        for target in order:
            run = measure_one(target, seconds, lua, patience)
            runs[target.key].append(run)
            note = f"  {run.errors} errors" if run.errors else ""
            print(
                f"round {number + 1}/{rounds}  {target.label:<30} {run.rps:7.0f} req/s  "
                f"p50 {run.p50:5.2f} ms  p99 {run.p99:6.2f} ms  server {run.server_us:4.0f} "
                f"us/req  workers {'/'.join(f'{w:.2f}' for w in run.workers)}  "
                f"others {run.others:.0f}%{note}",
                flush=True,
            )
    return runs


def median_run(runs: list[Run]) -> Run:
    """Return the run with the median requests per second (the lower middle one if even)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def ratios(runs: dict[str, list[Run]], target: Target) -> list[float]:
    """Return the subject/baseline ratio of requests per second, round by round."""
    return [s.rps / b.rps for s, b in zip(runs[target.key], runs[target.baseline], strict=True)]


def cpu_ratios(runs: dict[str, list[Run]], target: Target) -> list[float]:
    """Return baseline/subject server CPU per request, round by round: 1.0 is as cheap."""
    pairs = zip(runs[target.key], runs[target.baseline], strict=True)
    return [b.server_us / s.server_us for s, b in pairs]


# -- the browser part --------------------------------------------------------------------

HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Choosing a local model runner for the team</title>
<style>
body {{ font: 18px/1.6 Georgia, serif; max-width: 760px; margin: 0 auto; padding: 1rem;
  color: #222; background: #fff; }}
header.site {{ display: flex; justify-content: space-between; border-bottom: 1px solid #ddd; }}
h1 {{ font-size: 2rem; line-height: 1.2; }}
.static-vsw {{ font: 15px/1.5 system-ui, sans-serif; border: 1px solid #ddd;
  border-radius: 12px; padding: 16px; }}
.static-vsw ul {{ padding-left: 1.2em; }}
</style>
</head>
<body>
<header class="site"><strong>The Local Stack</strong><nav><a href="#">Posts</a>
  <a href="#">About</a></nav></header>
<article>
<h1>Choosing a local model runner for the team</h1>
<p>We asked twelve people who run models on their own hardware to judge the four runners
we hear about most. Here is where they agree, where they split, and what our readers say.</p>
{block}
<p>Whichever you pick, pin the version, write down the model and quantization you use, and
measure on the machine your users actually have.</p>
<p>Next week: the same panel on vector databases you can run in-process.</p>
</article>
</body>
</html>
"""

# Runs before the page's own scripts: polls every frame for the comparison's title (in the
# widget's shadow root, or in the static block), then stamps the end of the frame that
# painted it (a message posted from requestAnimationFrame runs after that frame's paint).
PROBE = """
(() => {
  const TITLE = %s;
  const B = (window.__vswBench = { found: null, painted: null, long: [] });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.long.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
  function titled(root) {
    if (!root) return false;
    for (const e of root.querySelectorAll("h1, h2, h3, [class*=title]")) {
      if (e.textContent.trim() === TITLE) return true;
    }
    return false;
  }
  function present() {
    const widget = document.querySelector("[data-vswidget]");
    if (widget) return titled(widget.shadowRoot);
    return titled(document.getElementById("static-comparison"));
  }
  function frame() {
    if (present()) {
      B.found = performance.now();
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { B.painted = performance.now(); };
      channel.port2.postMessage(0);
    } else {
      requestAnimationFrame(frame);
    }
  }
  requestAnimationFrame(frame);
})();
"""

COLLECT = """
() => {
  const B = window.__vswBench;
  const out = { painted: B.painted, found: B.found, long: B.long };
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  out.fcp = fcp ? fcp.startTime : null;
  const script = document.querySelector('script[src*="widget.js"]');
  if (script) {
    const s = performance.getEntriesByName(script.src)[0];
    out.script_end = s ? s.responseEnd : null;
    const p = performance.getEntriesByType("resource").find((r) => r.name.includes("/v1/payload"));
    out.payload_start = p ? p.startTime : null;
    out.payload_end = p ? p.responseEnd : null;
  }
  return out;
}
"""


def static_block(p: dict[str, Any]) -> str:
    """Return the text of a payload as plain static HTML, laid out like the widget."""
    e = html.escape
    labels = p["labels"]
    parts = ['<section class="static-vsw" id="static-comparison">']
    if p.get("kicker"):
        parts.append(f"<p>{e(p['kicker'])}</p>")
    parts.append(f"<h2>{e(p['title'])}</h2>")
    if p.get("question"):
        parts.append(f"<p>{e(p['question'])}</p>")
    parts.append("<ul>")
    for item in p["items"]:
        ship = "—" if item["panel_ship"] is None else f"{item['panel_ship']}%"
        community = "—" if item["community"] is None else f"{item['community']}%"
        parts.append(
            f"<li><p>{e(item.get('category', ''))}</p><h3>{e(item['name'])}</h3>"
            f"<p>{e(item.get('tagline', ''))}</p>"
            f"<dl><dt>{e(labels['panel_ship'])}</dt><dd>{ship}</dd>"
            f"<dt>{e(labels['community'])}</dt><dd>{community}</dd>"
            f"<dt>{e(labels['entry'])}</dt><dd>{e(item.get('price', ''))}</dd></dl>"
            f"<p>{e(item.get('description', ''))}</p>"
            f'<a href="{e(item.get("url", "#"))}">{e(item["name"])}</a></li>'
        )
    parts.append(f"</ul><h3>{e(labels['scorecard'])}</h3><ul>")
    for reviewer in p["panel"]:
        chips = " ".join(
            f"{e(item['name'])}: {e(labels[reviewer['verdicts'][item['key']]['verdict']])}"
            for item in p["items"]
        )
        parts.append(f"<li>{e(reviewer['name'])} ({e(reviewer.get('lens', ''))}) {chips}</li>")
    parts.append(f"</ul><details><summary>{e(labels['quotes'])}</summary>")
    for reviewer in p["panel"]:
        parts.append(f"<h4>{e(reviewer['name'])}</h4><ul>")
        for item in p["items"]:
            verdict = reviewer["verdicts"][item["key"]]
            parts.append(f"<li>{e(item['name'])}: <q>{e(verdict.get('quote', ''))}</q></li>")
        parts.append("</ul>")
    parts.append("</details>")
    if p.get("cta"):
        parts.append(f"<h3>{e(p['cta']['headline'])}</h3><p>{e(p['cta'].get('text', ''))}</p>")
    parts.append(f'<footer><a href="{e(p["url"])}">{e(labels["full"])}</a></footer></section>')
    return "\n".join(parts)


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


def browser_problem() -> str | None:
    """Say what is missing for the browser part, or None when it can run."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`."
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "Playwright for Python is missing: install it with `.venv/bin/pip install "
            "playwright` (never `playwright install`: the system Chromium is used)."
        )
    return None


@dataclass
class Paint:
    widget: list[dict[str, Any]]
    static: list[dict[str, Any]]
    failures: list[str]
    chromium: str
    others: list[float]  # % of the machine others used during each pair of loads


def paint(snippet: str, payload: dict[str, Any], loads: int, patience: Patience) -> Paint:
    """Load the widget page and the static page in turns, each in a new browser context."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    pages = {
        "/widget.html": HOST_PAGE.format(block=snippet).encode(),
        "/static.html": HOST_PAGE.format(block=static_block(payload)).encode(),
    }
    probe = PROBE % json.dumps(payload["title"])
    result = Paint([], [], [], "", [])
    with host_site(pages) as site, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            result.chromium = browser.version
            for number in range(loads + 1):  # the first pair warms the browser and is dropped
                patience.settle()
                meter = CpuMeter()
                for kind in ("widget", "static"):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    try:
                        context.add_init_script(probe)
                        page = context.new_page()
                        page.goto(f"{site}/{kind}.html", wait_until="load", timeout=20_000)
                        page.wait_for_function(
                            "() => window.__vswBench && window.__vswBench.painted !== null",
                            timeout=20_000,
                        )
                        page.wait_for_function(  # reported once the frame is presented
                            "() => performance.getEntriesByName('first-contentful-paint').length",
                            timeout=5_000,
                        )
                        sample = page.evaluate(COLLECT)
                    except PlaywrightError as error:
                        result.failures.append(f"{kind} load {number}: {str(error)[:200]}")
                        continue
                    finally:
                        context.close()
                    if number > 0:
                        getattr(result, kind).append(sample)
                others = meter.stop()[2]
                if number > 0:
                    result.others.append(others)
                print(f"page loads {number}/{loads} done (others {others:.0f}%)", flush=True)
        finally:
            browser.close()
    return result


# -- report ------------------------------------------------------------------------------


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


def not_modified_note(runs: dict[str, list[Run]], url: str, target: Target) -> str:
    """Say what share of the conditional requests got 304, from the bytes wrk read."""
    note = (
        "The 304 measurement sends `If-None-Match` with every ETag the workers were serving "
        "just before it (read from 40 answers over new connections, 8 at a time): "
        f"`{target.if_none_match}` at the last round"
    )
    try:  # the ETags now: the workers' copies may have been rebuilt since (PAYLOAD_TTL)
        current = target.refresh() if target.refresh else target.if_none_match
        empty = wire_size(url, {"If-None-Match": current}, 304)
    except Failed as error:
        return f"{note}; no 304 could be had afterwards ({error})."
    full = statistics.median(r.size for r in runs["payload"])
    shares = [max(0.0, min(1.0, (full - r.size) / (full - empty))) for r in runs["304"]]
    return (
        f"{note}; {100 * statistics.median(shares):.0f} % of its answers were 304 Not "
        f"Modified ({empty} bytes), the rest 200 with the whole payload (from the bytes wrk read)."
    )


def rebuilt_note(cold_url: str) -> str:
    """Say whether a payload built twice, a second apart, keeps its ETag (from the cold server)."""
    first = fetch(cold_url)[1].get("ETag")
    time.sleep(1.1)
    second = fetch(cold_url)[1].get("ETag")
    if first == second:
        return (
            "The null-cache server built the big payload twice, a second apart, with the same "
            "ETag: workers and cache refreshes agree on it."
        )
    return (
        f"**The ETag changes when the payload is built again**: the null-cache server built "
        f"the unchanged big payload twice, a second apart, and sent ETag {first} then "
        f"{second}. Each worker's cache and each refresh then has its own ETag, so "
        "revalidation by browsers and CDNs often gets 200 with the whole payload, not 304."
    )


def render_report(
    args: argparse.Namespace,
    targets: list[Target],
    runs: dict[str, list[Run]],
    sizes: list[tuple[str, int, int, int | None]],
    painted: Paint | None,
    browser_note: str,
    notes: list[str],
) -> str:
    from importlib.metadata import version

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = ".venv/bin/python benchmarks/embed.py" + "".join(
        " " + shlex.quote(a) for a in sys.argv[1:]
    )
    settings = " ".join(f"--{k} {v}" for k, v in GUNICORN.items())
    every = [r for key in runs for r in runs[key]]
    lines = [
        SECTION,
        "",
        f"Measured {now} by `benchmarks/embed.py`; reproduce with `{command}`.",
        "",
        f"- machine: `nproc` {CPUS}, {cpu_model()}, Linux {platform.release()}, "
        f"Python {platform.python_version()}; shared with other work, see *others* below",
        f"- code: {code_version()}",
        f"- server: gunicorn {version('gunicorn')}, Flask {version('flask')}; every server "
        f"runs `gunicorn {settings}` (what `vswidget serve --workers 2` sets) on "
        "127.0.0.1, serving `benchmarks/embed_app.py`: vswidget's app as `vswidget serve` loads "
        "it and, under `/baseline`, a minimal Flask app answering a small constant JSON dict "
        "(or a constant body of the payload's size), in the same worker processes; "
        f"`VSWIDGET_READ_RATE_LIMIT` raised to {READ_LIMIT} (every request comes from "
        "127.0.0.1)",
        "- data: SQLite and the in-process cache (the embedded default) in a temporary "
        "instance folder; the big comparison has 4 items and 12 reviewers with 48 quotes of "
        "460 to 620 characters; the batch asks for it and the small one (2 items, 4 reviewers)",
        "- cold: a second gunicorn, same settings and instance folder, with "
        "`VSWIDGET_CACHE_URL=null://` (Flask-Caching's NullCache), so every read builds the "
        "payload from the database; its ratio is to the baseline served by that same server",
        f"- load: {tool_version(['wrk', '--version']).split(' [')[0]}, {WRK_THREADS} thread, "
        f"{WRK_CONNECTIONS} keep-alive connections (each closed and reopened after about "
        f"{REOPEN} requests), `Accept-Encoding: {ACCEPT_ENCODING}` as a browser sends, "
        f"{args.seconds:g} s per measurement, {args.rounds} rounds, each round starting one "
        "target later",
        "",
        "### Payload reads",
        "",
        "| measurement | req/s | ratio to baseline | server CPU µs/req | CPU ratio | "
        "p50 ms | p90 ms | p99 ms | others % | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target in targets:
        run = median_run(runs[target.key])
        errors = sum(r.errors for r in runs[target.key])
        others = statistics.median(r.others for r in runs[target.key])
        ratio, cpu = "1.00", "1.00"
        if target.baseline:
            ratio = f"{statistics.median(ratios(runs, target)):.2f}"
            cpu = f"{statistics.median(cpu_ratios(runs, target)):.2f}"
        lines.append(
            f"| {target.label} | {run.rps:,.0f} | {ratio} | {run.server_us:.0f} | {cpu} | "
            f"{run.p50:.2f} | {run.p90:.2f} | {run.p99:.2f} | {others:.0f} | {errors} |"
        )
    warm = next(t for t in targets if t.key == "payload")
    goal = statistics.median(ratios(runs, warm))
    retried = sum(1 for r in every if r.attempts > 1)
    disturbed = sum(1 for r in every if r.others >= args.quiet or not r.balanced)
    lines += [
        "",
        f"**Warm payload / baseline: {goal:.2f}** (goal: at least 0.90, "
        f"{'met' if goal >= 0.9 else 'not met'}). Per round: "
        + "; ".join(
            f"{t.label.split(' (')[0]} " + ", ".join(f"{r:.2f}" for r in ratios(runs, t))
            for t in targets
            if t.baseline
        )
        + ".",
        "",
        *notes,
        "",
        "How to read it: *req/s* is the median round, and the latencies are wrk's from that "
        "round. *Ratio to baseline* is the median over rounds of subject req/s / baseline req/s, "
        "both measured minutes apart on the same server. *Server CPU µs/req* is the CPU time "
        "the server's processes (master and workers, from /proc) spent per request in that "
        "round, and *CPU ratio* the median of baseline µs / subject µs: less sensitive to "
        "other load than req/s. *Others* is the share of the machine that processes not "
        "started by the benchmark used during the measurement (from /proc/stat). Before each "
        f"measurement the script waits (at most {args.max_wait:g} s) for others to use under "
        f"{args.quiet:g} %, and measures again (at most {args.retries} times, keeping the "
        "best) when others were busier than that or one gunicorn worker got every keep-alive "
        "connection and the other idled. "
        f"{retried} of {len(every)} "
        f"measurements were repeated; {disturbed} stayed disturbed.",
        "",
        "| response | bytes | gzip -6 | brotli -11 |",
        "|---|---:|---:|---:|",
    ]
    for name, raw, gzipped, brotlied in sizes:
        lines.append(
            f"| {name} | {raw:,} | {gzipped:,} | {'—' if brotlied is None else f'{brotlied:,}'} |"
        )
    lines += ["", "### Widget paint in Chromium", ""]
    if painted is None:
        lines.append(browser_note)
    else:
        lines += paint_lines(painted, args.loads)
    return "\n".join(lines) + "\n"


def paint_lines(result: Paint, loads: int) -> list[str]:
    def stats(samples: list[dict[str, Any]], f: Callable[[dict[str, Any]], float]) -> str:
        values = []
        for sample in samples:
            try:
                values.append(f(sample))
            except TypeError:  # an entry the browser did not record (None)
                pass
        if not values:
            return "— | —"
        return f"{statistics.median(values):.1f} | {percentile(values, 90):.1f}"

    widget, static = result.widget, result.static
    lines = [
        f"Chromium {result.chromium}, headless (`{' '.join(CHROMIUM_ARGS)}`), viewport "
        f"1280×800, driven by Playwright for Python; {loads} loads of each page in turns, "
        "each in a new browser context (cold HTTP cache, new connections), after one "
        "dropped warm-up pair. The host page is served from a small http.server on "
        "127.0.0.1; widget.js and the payload come from the warm gunicorn above (another "
        "origin, as on a real blog). Painted = the end of the first frame whose rendering "
        "update had the title in the widget's shadow root (or in the static block): a "
        "requestAnimationFrame poll, then a message posted from it.",
        "",
    ]
    if result.failures:
        lines += [f"{len(result.failures)} loads failed: " + "; ".join(result.failures), ""]
    if not widget or not static:
        return [*lines, "Not enough successful loads to report."]
    lines += [
        "| interval (ms) | median | p90 |",
        "|---|---:|---:|",
        "| widget.js loaded (`responseEnd`) → widget painted | "
        + stats(widget, lambda s: s["painted"] - s["script_end"])
        + " |",
        "| navigation start → widget painted | " + stats(widget, lambda s: s["painted"]) + " |",
        "| navigation start → same text as static HTML painted | "
        + stats(static, lambda s: s["painted"])
        + " |",
        "| *of which, widget page:* navigation start → widget.js loaded | "
        + stats(widget, lambda s: s["script_end"])
        + " |",
        "| widget.js loaded → payload request sent | "
        + stats(widget, lambda s: s["payload_start"] - s["script_end"])
        + " |",
        "| payload request sent → payload received | "
        + stats(widget, lambda s: s["payload_end"] - s["payload_start"])
        + " |",
        "| payload received → widget painted | "
        + stats(widget, lambda s: s["painted"] - s["payload_end"])
        + " |",
        "| first contentful paint, widget page | " + stats(widget, lambda s: s["fcp"]) + " |",
        "| first contentful paint, static page | " + stats(static, lambda s: s["fcp"]) + " |",
    ]
    extra = statistics.median(s["painted"] for s in widget) - statistics.median(
        s["painted"] for s in static
    )
    longs = [d for s in widget for d in s["long"]]
    lines += [
        "",
        f"The widget adds **{extra:.0f} ms** (median) over the same text as static HTML. "
        f"Long tasks (≥ 50 ms) during the widget loads: {len(longs)}"
        + (f", longest {max(longs):.0f} ms." if longs else ".")
        + " CPU used by processes not started by the benchmark during a pair of loads: median "
        f"{statistics.median(result.others):.0f} % of the machine.",
    ]
    return lines


def write_doc(section: str, heading: str = SECTION) -> None:
    """Put a section into docs/performance.md, replacing an earlier one, keeping the rest."""
    if DOC.exists():
        text = DOC.read_text()
    else:
        text = (
            "# Performance\n\n"
            "Every figure on this page comes from a script in [`benchmarks/`](../benchmarks/) "
            "that anyone can re-run (see [its README](../benchmarks/README.md)). Absolute "
            "times on a shared 2-core machine are noisy, so each benchmark measures a baseline "
            "side by side in the same run and reports ratios to it.\n"
        )
    lines = text.splitlines(keepends=True)
    start = next((i for i, x in enumerate(lines) if x.rstrip() == heading), None)
    if start is None:
        DOC.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    DOC.write_text("".join(lines[:start]) + section + ("\n" + rest if rest else ""))


# -- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="seconds per wrk measurement (10)")
    parser.add_argument("--quick", action="store_true", help="3 s measurements, 5 page loads")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds (3)")
    parser.add_argument("--loads", type=int, help="page loads of each page (10)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    patience_options(parser, quiet=15, max_wait=45, wait_budget=300, retries=2)
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        help="write docs/performance.md (default: on for full runs, off with --quick)",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.loads = args.loads or (5 if args.quick else 10)
    args.docs = (not args.quick) if args.docs is None else args.docs
    if not (0.5 <= args.seconds <= 120 and 1 <= args.rounds <= 10 and 1 <= args.loads <= 100):
        parser.error("use 0.5..120 seconds, 1..10 rounds and 1..100 loads")
    check_patience(parser, args)
    return args


def patience_options(
    parser: argparse.ArgumentParser, quiet: float, max_wait: float, wait_budget: float, retries: int
) -> None:
    """Add the options of a Patience (--quiet, --max-wait, --wait-budget, --retries)."""
    for option, kind, default, text in (
        ("--quiet", float, quiet, "%% of the CPU others may use while measuring"),
        ("--max-wait", float, max_wait, "seconds to wait for quiet, per measurement"),
        ("--wait-budget", float, wait_budget, "seconds to wait for quiet in all"),
        ("--retries", int, retries, "extra attempts of a disturbed measurement"),
    ):
        parser.add_argument(option, type=kind, default=default, help=f"{text} ({default:g})")


def check_patience(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse values of the Patience options outside their bounds."""
    if not (0 <= args.retries <= 5 and 0 <= args.max_wait <= 300 and 0 <= args.wait_budget <= 3600):
        parser.error("use 0..5 retries, 0..300 s of --max-wait and 0..3600 s of --wait-budget")


def wrk_missing() -> bool:
    """Say how to install wrk when it is missing; return whether it is."""
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install -y wrk`.", file=sys.stderr)
        return True
    return False


def run_main(
    main: Callable[[], int], name: str, failures: tuple[type[Exception], ...] = (Failed,)
) -> NoReturn:
    """Exit with ``main()``'s status; a failure or Ctrl-C ends it with one line, not a trace."""
    try:
        sys.exit(main())
    except failures as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; every process it started is stopped.", file=sys.stderr)
        sys.exit(130)


def stop_on_sigterm() -> None:
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> int:
    args = parse_args()
    if wrk_missing():
        return 2
    widget_js = ROOT / "src" / "vswidget" / "static" / "widget.js"
    browser_note = ""
    if args.no_browser:
        browser_note = "Skipped (--no-browser)."
    elif not widget_js.exists():
        browser_note = f"Skipped: {widget_js.relative_to(ROOT)} does not exist yet."
    elif problem := browser_problem():
        print(problem, file=sys.stderr)
        return 2
    if browser_note:
        print(browser_note, flush=True)

    stop_on_sigterm()
    with ExitStack() as stack:
        temp = Path(tempfile.mkdtemp(prefix="vswidget-bench-"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)
        instance = temp / "instance"
        env = clean_env(instance, VSWIDGET_READ_RATE_LIMIT=READ_LIMIT)

        vswidget_cli(env, "db", "upgrade")
        key = vswidget_cli(env, "publisher", "create", "bench").strip().splitlines()[-1]

        warm = stack.enter_context(gunicorn("warm", env, temp))
        from embed_data import big, small

        from vswidget import Client

        with Client(warm.base, key) as client:
            big_published = client.publish(big())
            small_published = client.publish(small())
        cold = stack.enter_context(
            gunicorn(
                "cold",
                clean_env(
                    instance, VSWIDGET_CACHE_URL="null://", VSWIDGET_READ_RATE_LIMIT=READ_LIMIT
                ),
                temp,
            )
        )

        big_t, small_t = quote(big_published.token), quote(small_published.token)
        payload_url = f"{warm.base}/v1/payload/{big_t}"
        batch_url = f"{warm.base}/v1/payloads?t={big_t}&t={small_t}"
        status, headers, body = fetch(payload_url)
        if status != 200 or json.loads(body)["title"] != big().title:
            raise Failed(f"GET {payload_url} answered {status}: {body[:200]!r}")
        etag = headers["ETag"]
        cold_url = f"{cold.base}/v1/payload/{big_t}"
        blob_url = f"{warm.base}/baseline/blob?n={len(body)}"
        targets = [
            Target("baseline", "baseline (minimal Flask JSON)", f"{warm.base}/baseline/ping"),
            Target("payload", "warm payload", payload_url, baseline="baseline"),
            Target("batch", "warm batch (2 payloads)", batch_url, baseline="baseline"),
            Target(
                "304",
                "304 (If-None-Match)",
                payload_url,
                304,
                "baseline",
                etag,
                refresh=lambda: ", ".join(sorted(etags_seen(payload_url))),
            ),
            Target("blob", "baseline with a payload-sized body", blob_url, baseline="baseline"),
            Target("cold-baseline", "baseline, null-cache server", f"{cold.base}/baseline/ping"),
            Target("cold", "cold payload (no cache)", cold_url, baseline="cold-baseline"),
        ]
        for target in targets:
            target.server = cold if target.url.startswith(cold.base) else warm
        bodies: dict[str, bytes] = {}
        for target in targets:
            if target.status == 304:  # checked by wire_size below: either worker may answer
                continue
            status, _, body = fetch(target.url)
            if status != target.status:
                raise Failed(f"{target.label}: {target.url} answered {status}, not {target.status}")
            bodies[target.key] = body
        small_body = fetch(f"{warm.base}/v1/payload/{small_t}")[2]
        sizes: list[tuple[str, int, int, int | None]] = [
            (name, len(data), gz(data), br(data))
            for name, data in (
                ("baseline JSON", bodies["baseline"]),
                ("big payload (4 items, 12 reviewers)", bodies["payload"]),
                ("small payload (2 items, 4 reviewers)", small_body),
                ("batch (big + small)", bodies["batch"]),
            )
        ]
        if br(b"") is None:
            print("brotli sizes left out: `.venv/bin/pip install brotli` to have them.")
        if widget_js.exists():
            script = widget_js.read_bytes()
            sizes.append(("widget.js", len(script), gz(script), br(script)))

        lua = temp / "report.lua"
        lua.write_text(REPORT_LUA)
        patience = Patience(args.quiet, args.max_wait, args.wait_budget, args.retries)
        runs = measure(targets, args.rounds, args.seconds, lua, patience)
        notes = [not_modified_note(runs, payload_url, targets[3]), rebuilt_note(cold_url)]

        painted = None
        if not browser_note:
            payload = json.loads(fetch(payload_url)[2])
            painted = paint(big_published.snippet, payload, args.loads, patience)
            if not painted.widget:
                raise Failed("the widget never painted: " + "; ".join(painted.failures[:3]))

    section = render_report(args, targets, runs, sizes, painted, browser_note, notes)
    print("\n" + section)
    if args.docs:
        write_doc(section)
        print(f"written to {DOC.relative_to(ROOT)}")
    else:
        print("(docs/performance.md not updated: pass --docs to write a quick run)")
    return 0


if __name__ == "__main__":
    run_main(main, "embed.py")
