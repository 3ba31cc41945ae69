"""Embed benchmark: payload reads against a minimal Flask baseline, and widget paint in Chromium.

    .venv/bin/python benchmarks/embed.py [--seconds N] [--rounds N] [--quick] [--no-browser]

In one run, on 127.0.0.1 only, this script

1. makes a temporary instance folder (SQLite, in-process cache: the embedded default), runs
   `vswidget db upgrade`, creates a publisher and publishes two comparisons with the SDK (the
   big one has 4 items and 12 reviewers with long quotes);
2. serves benchmarks/embed_app.py with three gunicorns, each with 2 gthread workers and the
   settings of `vswidget serve`: vswidget, vswidget with VSWIDGET_CACHE_URL=null:// for cold
   reads, and the minimal Flask baseline, in processes of its own so that it shares none of
   vswidget's costs; then measures requests per second with wrk, rounds interleaving baseline
   and subjects, and reports each subject as a ratio to the baseline measured in its round;
3. if src/vswidget/server/static/widget.js exists, loads a host page with the big comparison's
   snippet in headless Chromium (Playwright), a new context (cold HTTP cache) per load, and
   times script loaded -> widget painted, next to the same page with the same text as plain
   static HTML (benchmarks/fixtures/host.html, probe.js, collect.js);
4. prints the tables and, on full runs (or with --save), saves benchmarks/results/embed.json.

It needs wrk (`apt-get install -y wrk`) and, for the browser part, Chromium at
/usr/bin/chromium (`apt-get install -y chromium`) and Playwright for Python
(`.venv/bin/pip install playwright`; never `playwright install`). Every process it starts is
stopped, and every temporary folder deleted, on success, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import harness
import record
from harness import (
    BIG,
    CHROMIUM,
    FIXTURES,
    HOST,
    RAISED_LIMIT,
    REOPEN,
    SMALL,
    STATIC,
    WRK_CONNECTIONS,
    CpuMeter,
    Failed,
    Patience,
    Server,
    clean_env,
    gunicorn,
    host_site,
    http,
    new_instance,
)
from record import (
    LoadRun,
    br,
    cpu_ratios,
    gz,
    load_average,
    median_run,
    percentile,
    ratios,
    rounds_text,
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WRK_THREADS = 1
# What a browser's fetch() sends; the server may answer compressed bodies to it.
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
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


def wire_size(url: str, headers: dict[str, str], status: int) -> int:
    """Return the bytes of an answer with ``status`` as sent: status line, headers, body."""
    parts = urlsplit(url)
    for _ in range(40):  # a new connection each time, so either worker may answer
        connection = HTTPConnection(parts.hostname or HOST, parts.port, timeout=10)
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
        return set(pool.map(lambda _: http(url)[1].get("ETag", ""), range(times)))


@contextmanager
def baseline_server(env: dict[str, str], logs: Path) -> Iterator[Server]:
    """Serve embed_app's minimal Flask baseline alone, with the same gunicorn settings."""
    with gunicorn("baseline", env, logs, "embed_app:baseline_app()", ready="/ping") as server:
        yield server


@dataclass
class Target:
    key: str
    label: str
    server: Server  # what answers, and whose processes' CPU is counted
    path: str
    status: int = 200
    baseline: str = ""  # key of the baseline this target is compared with
    if_none_match: str = ""
    # For the 304 target: returns the If-None-Match to send, read just before each run.
    refresh: Callable[[], str] | None = None

    @property
    def url(self) -> str:
        return self.server.base + self.path

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if self.if_none_match:
            headers["If-None-Match"] = self.if_none_match
        return headers


@dataclass
class Run(LoadRun):
    errors: int
    size: float  # bytes per response, headers included
    attempts: int = 1

    @property
    def balanced(self) -> bool:
        """Whether both workers served: a keep-alive connection stays with one worker."""
        return len(self.workers) >= 2 and self.workers[1] >= 0.5 * self.workers[0]


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
    usage = meter.stop(target.server.process.pid)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise Failed(f"wrk failed on {target.url}: {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.removeprefix("WRKJSON "))
    size = data["bytes"] / max(1, data["requests"])
    return Run(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50=data["p50_us"] / 1000,
        p90=data["p90_us"] / 1000,
        p99=data["p99_us"] / 1000,
        errors=int(sum(data["errors"].values())),
        size=size,
        server_us=1e6 * usage.cpu / max(1, data["requests"]),
        workers=usage.cores,
        others=usage.others,
    )


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

    host = (FIXTURES / "host.html").read_text()
    pages = {
        "/widget.html": host.replace("$block", snippet).encode(),
        "/static.html": host.replace("$block", static_block(payload)).encode(),
    }
    probe = (FIXTURES / "probe.js").read_text().replace("$title", json.dumps(payload["title"]))
    collect = (FIXTURES / "collect.js").read_text()
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
                        sample = page.evaluate(collect)
                    except PlaywrightError as error:
                        result.failures.append(f"{kind} load {number}: {str(error)[:200]}")
                        continue
                    finally:
                        context.close()
                    if number > 0:
                        getattr(result, kind).append(sample)
                others = meter.stop().others
                if number > 0:
                    result.others.append(others)
                print(f"page loads {number}/{loads} done (others {others:.0f}%)", flush=True)
        finally:
            browser.close()
    return result


# -- report ------------------------------------------------------------------------------


def share_304(runs: dict[str, list[Run]], url: str, target: Target) -> tuple[float, int] | None:
    """Return the % of the conditional requests answered 304 (from the bytes wrk read) and the
    bytes of a 304, or None when no 304 could be had afterwards."""
    try:  # the ETags now: the workers' copies may have been rebuilt since (PAYLOAD_TTL)
        current = target.refresh() if target.refresh else target.if_none_match
        empty = wire_size(url, {"If-None-Match": current}, 304)
    except Failed as error:
        print(f"no 304 could be had afterwards ({error})")
        return None
    full = statistics.median(r.size for r in runs["payload"])
    shares = [max(0.0, min(1.0, (full - r.size) / (full - empty))) for r in runs["304"]]
    return 100 * statistics.median(shares), empty


def same_etag(cold_url: str) -> bool:
    """Whether a payload built twice, a second apart, keeps its ETag (on the cold server)."""
    first = http(cold_url)[1].get("ETag")
    time.sleep(1.1)
    return first == http(cold_url)[1].get("ETag")


# -- results -----------------------------------------------------------------------------


def reads_table(targets: list[Target], runs: dict[str, list[Run]]) -> dict[str, Any]:
    rows = []
    for target in targets:
        every = runs[target.key]
        run = median_run(every)
        ratio, cpu, per_round = 1.0, 1.0, None
        if target.baseline:
            by_round = ratios(every, runs[target.baseline])
            ratio, per_round = statistics.median(by_round), rounds_text(by_round)
            cpu = statistics.median(cpu_ratios(every, runs[target.baseline]))
        others = statistics.median(r.others for r in every)
        errors = sum(r.errors for r in every)
        rows.append(
            [target.label, run.rps, ratio, run.server_us, cpu, run.p50, run.p90, run.p99]
            + [others, errors, per_round]
        )
    columns = [("measurement", None), ("req/s", 0), ("ratio to baseline", 2)]
    columns += [("server CPU µs/req", 0), ("CPU ratio", 2), ("p50 ms", 2), ("p90 ms", 2)]
    columns += [("p99 ms", 2), ("others %", 0), ("errors", 0), ("ratio per round", None)]
    return record.table(columns, rows)


def paint_table(result: Paint) -> dict[str, Any]:
    widget, static = result.widget, result.static
    intervals: list[tuple[str, list[dict[str, Any]], Callable[[dict[str, Any]], float]]] = [
        (
            "widget.js loaded (`responseEnd`) → widget painted",
            widget,
            lambda s: s["painted"] - s["script_end"],
        ),
        ("navigation start → widget painted", widget, lambda s: s["painted"]),
        ("navigation start → same text as static HTML painted", static, lambda s: s["painted"]),
        (
            "*of which, widget page:* navigation start → widget.js loaded",
            widget,
            lambda s: s["script_end"],
        ),
        (
            "widget.js loaded → payload request sent",
            widget,
            lambda s: s["payload_start"] - s["script_end"],
        ),
        (
            "payload request sent → payload received",
            widget,
            lambda s: s["payload_end"] - s["payload_start"],
        ),
        ("payload received → widget painted", widget, lambda s: s["painted"] - s["payload_end"]),
        ("first contentful paint, widget page", widget, lambda s: s["fcp"]),
        ("first contentful paint, static page", static, lambda s: s["fcp"]),
    ]
    rows = []
    for name, samples, interval in intervals:
        values = []
        for sample in samples:
            try:
                values.append(interval(sample))
            except TypeError:  # an entry the browser did not record (None)
                pass
        if values:
            rows.append([name, statistics.median(values), percentile(values, 90)])
        else:
            rows.append([name, None, None])
    return record.table([("interval (ms)", None), ("median", 1), ("p90", 1)], rows)


def paint_figures(result: Paint) -> dict[str, Any]:
    extra = statistics.median(s["painted"] for s in result.widget) - statistics.median(
        s["painted"] for s in result.static
    )
    longs = [d for s in result.widget for d in s["long"]]
    return {
        "chromium": result.chromium,
        "widget_adds_ms": round(extra),
        "long_tasks": len(longs),
        "longest_task_ms": max(longs, default=None),
        "others_median_percent": round(statistics.median(result.others)),
        "failed_loads": result.failures,
    }


# -- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    harness.load_options(parser, rounds=3, quick_rounds=3)
    parser.add_argument("--loads", type=int, help="page loads of each page (10; 5 quick)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    harness.patience_options(parser, quiet=15, max_wait=45, wait_budget=300, retries=2)
    args = harness.checked(parser, parser.parse_args())
    args.loads = args.loads or (5 if args.quick else 10)
    if not 1 <= args.loads <= 100:
        parser.error("use 1..100 loads")
    return args


def main() -> int:
    args = parse_args()
    if harness.wrk_missing():
        return 2
    widget_js = STATIC / "widget.js"
    browser_note = ""
    if args.no_browser:
        browser_note = "Skipped (--no-browser)."
    elif not widget_js.exists():
        browser_note = f"Skipped: {widget_js.relative_to(harness.ROOT)} does not exist yet."
    elif problem := browser_problem():
        print(problem, file=sys.stderr)
        return 2
    if browser_note:
        print(browser_note, flush=True)

    loads_start = load_average()
    with ExitStack() as stack:
        temp = Path(tempfile.mkdtemp(prefix="vswidget-bench-"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)
        instance = temp / "instance"
        env = clean_env(instance, VSWIDGET_READ_RATE_LIMIT=RAISED_LIMIT)
        key = new_instance(env)

        warm = stack.enter_context(gunicorn("warm", env, temp))
        from vswidget import Client, Comparison

        big = Comparison.from_file(BIG)
        with Client(warm.base, key) as client:
            big_published = client.publish(big)
            small_published = client.publish(Comparison.from_file(SMALL))
        cold_env = clean_env(
            instance, VSWIDGET_CACHE_URL="null://", VSWIDGET_READ_RATE_LIMIT=RAISED_LIMIT
        )
        cold = stack.enter_context(gunicorn("cold", cold_env, temp))
        baseline = stack.enter_context(baseline_server(env, temp))

        big_t, small_t = quote(big_published.token), quote(small_published.token)
        payload_path = f"/v1/payload/{big_t}"
        payload_url = warm.base + payload_path
        status, headers, body = http(payload_url)
        if status != 200 or json.loads(body)["title"] != big.title:
            raise Failed(f"GET {payload_url} answered {status}: {body[:200]!r}")
        etag = headers["ETag"]
        cold_url = cold.base + payload_path
        # One baseline for both vswidget servers, measured once a round, right before the warm
        # payload or right after the cold one (each round starts one target later): each
        # subject's ratio is to the baseline of its round.
        targets = [
            Target("baseline", "baseline (minimal Flask JSON)", baseline, "/ping"),
            Target("payload", "warm payload", warm, payload_path, baseline="baseline"),
            Target(
                "batch",
                "warm batch (2 payloads)",
                warm,
                f"/v1/payloads?t={big_t}&t={small_t}",
                baseline="baseline",
            ),
            Target(
                "304",
                "304 (If-None-Match)",
                warm,
                payload_path,
                304,
                "baseline",
                etag,
                refresh=lambda: ", ".join(sorted(etags_seen(payload_url))),
            ),
            Target(
                "blob",
                "baseline with a payload-sized body",
                baseline,
                f"/blob?n={len(body)}",
                baseline="baseline",
            ),
            Target("cold", "cold payload (no cache)", cold, payload_path, baseline="baseline"),
        ]
        bodies: dict[str, bytes] = {}
        for target in targets:
            if target.status == 304:  # checked by wire_size below: either worker may answer
                continue
            status, _, body = http(target.url)
            if status != target.status:
                raise Failed(f"{target.label}: {target.url} answered {status}, not {target.status}")
            bodies[target.key] = body
        small_body = http(f"{warm.base}/v1/payload/{small_t}")[2]
        sizes: list[list[Any]] = [
            [name, len(data), gz(data), br(data)]
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
            sizes.append(["widget.js", len(script), gz(script), br(script)])

        lua = temp / "report.lua"
        lua.write_text(REPORT_LUA)
        patience = harness.patience(args)
        runs = measure(targets, args.rounds, args.seconds, lua, patience)
        not_modified = share_304(runs, payload_url, targets[3])
        figures: dict[str, Any] = {
            "settings": {"seconds": args.seconds, "rounds": args.rounds, "loads": args.loads},
            "versions": {"wrk": record.tool_version(["wrk", "--version"]).split(" [")[0]},
            "304_percent": None if not_modified is None else round(not_modified[0]),
            "304_bytes": None if not_modified is None else not_modified[1],
            "etag_kept_when_rebuilt": same_etag(cold_url),
            "repeated_measurements": sum(1 for r in runs.values() for x in r if x.attempts > 1),
        }
        tables = {
            "reads": reads_table(targets, runs),
            "sizes": record.table(
                [("response", None), ("bytes", 0), ("gzip -6", 0), ("brotli -11", 0)], sizes
            ),
        }
        if not browser_note:
            payload = json.loads(http(payload_url)[2])
            painted = paint(big_published.snippet, payload, args.loads, patience)
            if not painted.widget or not painted.static:
                raise Failed("the widget never painted: " + "; ".join(painted.failures[:3]))
            tables["paint"] = paint_table(painted)
            figures["paint"] = paint_figures(painted)

    record.report("embed", (loads_start, load_average()), tables, args.save, **figures)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "embed.py")
