"""Lighthouse benchmark: one blog post without an embed, with vswidget's snippet, with Isso's.

    .venv/bin/python benchmarks/lighthouse.py [--rounds N] [--quick] [--save]

In one run, on 127.0.0.1 only, this script

1. makes sure Lighthouse (LIGHTHOUSE_VERSION, pinned by benchmarks/package.json and
   benchmarks/package-lock.json) is installed in benchmarks/node_modules, running
   `npm ci --prefix benchmarks --no-audit --no-fund` when it is not;
2. starts three servers, each its own process on its own origin, as on a real blog:
   `vswidget serve --workers 2` on a temporary instance folder, with COMPARISON published
   through the SDK; Isso (benchmarks/peers.py's virtualenv and configuration) under gunicorn
   with the settings peers.py gives it; and `python -m http.server` serving the blog post;
3. writes one blog post (benchmarks/fixtures/post.html: about 750 words, its stylesheet inline,
   nothing external) in two placements of the embed, after the 2nd paragraph (below the
   first screen on a phone) and after the 1st (on the first screen), each in three variants
   that differ only by the embed: none (the baseline), vswidget's snippet as
   GET /api/v1/comparisons/SLUG/embed gives it, and Isso's documented embed (its
   embed.min.js and `<section id="isso-thread">`);
4. runs the Lighthouse CLI (performance only, simulated throttling as Lighthouse defaults)
   driving /usr/bin/chromium on every page, with the mobile defaults and with
   `--preset=desktop`, round after round, the variants interleaved, and checks that no run
   warned or asked for anything off this machine;
5. prints the medians and each embed's difference to the baseline measured in the same
   rounds, and, on full runs (or with --save), saves them to benchmarks/results/lighthouse.json.

It needs Node.js 18.16 or later with npm, and Chromium at /usr/bin/chromium
(`apt-get install -y nodejs npm chromium`); no browser is downloaded. Every process it starts
(the servers, Lighthouse and its Chromium) is stopped, and every temporary folder deleted, on
success, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote, urlsplit

import harness
import peers
import record
from harness import (
    CHROMIUM,
    CPUS,
    FIXTURES,
    HOST,
    ROOT,
    Failed,
    Patience,
    descendants,
    free_port,
    http,
    serving,
    tail,
    vswidget_serve,
)
from record import load_average, tool_version

HERE = Path(__file__).resolve().parent
COMPARISON = ROOT / "examples" / "comparisons" / "whisper-vs-parakeet.yaml"
LIGHTHOUSE_VERSION = "12.8.2"
NODE_MODULES = HERE / "node_modules"
LIGHTHOUSE_CLI = NODE_MODULES / "lighthouse" / "cli" / "index.js"
NPM_CI = ["npm", "ci", "--prefix", "benchmarks", "--no-audit", "--no-fund"]
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync"
)
LIGHTHOUSE_SECONDS = 180  # one Lighthouse run, Chromium's start and stop included
FORM_FACTORS = {"mobile": [], "desktop": ["--preset=desktop"]}
PLACEMENTS = {
    # The embed's top: 1,030 px down at mobile size (a 823 px screen), 694 px at desktop
    # size (940 px); after the 1st paragraph, 418 and 350 px.
    "after-p2": "after the 2nd paragraph (below the first screen on mobile, on it on desktop)",
    "after-p1": "after the 1st paragraph (on the first screen on both)",
}
VARIANTS = {"baseline": "baseline (no embed)", "vswidget": "vswidget", "isso": "Isso"}
METRICS = {  # Sample field -> Lighthouse audit whose numericValue it is
    "fcp": "first-contentful-paint",
    "lcp": "largest-contentful-paint",
    "cls": "cumulative-layout-shift",
    "tbt": "total-blocking-time",
    "speed_index": "speed-index",
    "main_thread": "mainthread-work-breakdown",
    "bytes": "total-byte-weight",
}
NUMBERS = ("score", *METRICS, "embed_bytes", "embed_requests")

# The blog post: the same bytes in every variant but for $after_p1 and $after_p2, where the
# embed goes (one of them, or neither for the baseline).
POST = Template((FIXTURES / "post.html").read_text())

# Isso's embed as its quick-start guide gives it: the script, then the thread's section.
ISSO_EMBED = """<script data-isso="{base}/" src="{base}/js/embed.min.js"></script>
<section id="isso-thread">
  <noscript>Javascript needs to be activated to view comments.</noscript>
</section>"""


def post(placement: str, snippet: str) -> str:
    """Return the blog post with ``snippet`` at ``placement`` (nothing elsewhere)."""
    return POST.substitute(
        {key.replace("-", "_"): "" for key in PLACEMENTS} | {placement.replace("-", "_"): snippet}
    )


def words(html: str) -> int:
    """Return the number of words of the article's text (tags and the stylesheet left out)."""
    body = html.split("<article>", 1)[1].split("</article>", 1)[0]
    return len(re.sub(r"<[^>]+>", " ", body).split())


# -- Lighthouse ------------------------------------------------------------------------------


def node_version() -> tuple[int, ...] | None:
    """Return Node.js's version, or None without Node."""
    if shutil.which("node") is None:
        return None
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
    try:
        return tuple(int(x) for x in done.stdout.strip().lstrip("v").split("."))
    except ValueError:
        return None


def installed_lighthouse() -> str | None:
    """Return the version of Lighthouse in benchmarks/node_modules, None if it is not there."""
    try:
        found: str = json.loads((NODE_MODULES / "lighthouse" / "package.json").read_text())[
            "version"
        ]
    except (OSError, ValueError, KeyError):
        return None
    return found


def ensure_lighthouse() -> None:
    """Install the pinned Lighthouse with `npm ci` unless it is installed already."""
    version = node_version()
    if version is None or version < (18, 16):
        raise Failed(
            "Lighthouse needs Node.js 18.16 or later (`apt-get install -y nodejs npm`); "
            f"found {'none' if version is None else '.'.join(map(str, version))}."
        )
    if installed_lighthouse() == LIGHTHOUSE_VERSION and LIGHTHOUSE_CLI.exists():
        return
    if shutil.which("npm") is None:
        raise Failed(
            f"Lighthouse {LIGHTHOUSE_VERSION} is not in benchmarks/node_modules and npm is "
            f"missing: install npm (`apt-get install -y npm`), then run `{shlex.join(NPM_CI)}`."
        )
    print(f"installing Lighthouse {LIGHTHOUSE_VERSION}: {shlex.join(NPM_CI)}", flush=True)
    try:
        done = subprocess.run(NPM_CI, cwd=ROOT, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as error:
        raise Failed(f"`{shlex.join(NPM_CI)}` did not finish within 600 s") from error
    if done.returncode != 0:
        raise Failed(f"`{shlex.join(NPM_CI)}` failed: {(done.stderr or done.stdout)[-800:]}")
    if installed_lighthouse() != LIGHTHOUSE_VERSION:
        raise Failed(f"benchmarks/node_modules does not hold Lighthouse {LIGHTHOUSE_VERSION}")


def lighthouse_command(url: str, form_factor: str, output: Path) -> list[str]:
    """Return the Lighthouse CLI command that measures ``url`` as ``form_factor``."""
    return [
        "node",
        str(LIGHTHOUSE_CLI.relative_to(ROOT)),  # run from the repository's root
        url,
        "--output=json",
        f"--output-path={output}",
        "--only-categories=performance",
        f"--chrome-flags={CHROME_FLAGS}",
        "--disable-full-page-screenshot",  # not a metric; it only costs a second per run
        "--no-enable-error-reporting",
        "--quiet",
        *FORM_FACTORS[form_factor],
    ]


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a process and every descendant: Chromium runs in a process group of its own."""
    for pid in descendants(process.pid):  # the whole tree first: orphans leave it
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def kill_leftovers(scratch: Path) -> None:
    """Kill any process still using ``scratch`` (a Chromium profile Lighthouse left behind)."""
    marker = str(scratch).encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in Path(entry.path, "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def lighthouse(url: str, form_factor: str, output: Path, scratch: Path) -> dict[str, Any]:
    """Run the Lighthouse CLI on ``url``; return its JSON report."""
    env = dict(os.environ, CHROME_PATH=CHROMIUM, TMPDIR=str(scratch))  # Chromium's profile too
    log = output.with_suffix(".log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            lighthouse_command(url, form_factor, output),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it
        )
    try:
        status = process.wait(timeout=LIGHTHOUSE_SECONDS)
    except subprocess.TimeoutExpired as error:
        raise Failed(f"Lighthouse did not finish {url} within {LIGHTHOUSE_SECONDS} s") from error
    finally:
        kill_tree(process)
        kill_leftovers(scratch)
    try:
        report: dict[str, Any] = json.loads(output.read_text())
    except (OSError, ValueError) as error:
        raise Failed(
            f"Lighthouse wrote no report for {url} (exit {status}):\n{tail(log)}"
        ) from error
    if report.get("runtimeError"):
        raise Failed(f"Lighthouse on {url}: {report['runtimeError']}")
    if status != 0:
        raise Failed(f"Lighthouse on {url} exited with {status}:\n{tail(log)}")
    return report


# -- one run's figures -----------------------------------------------------------------------


@dataclass
class Shift:
    """One layout shift Lighthouse attributes to an element."""

    element: str  # the node's selector, or its label when it has none
    snippet: str  # the start of the element's HTML
    score: float
    causes: list[str]


@dataclass
class Sample:
    """What one Lighthouse run measured."""

    score: float  # the performance score, 0..100
    fcp: float  # ms
    lcp: float
    cls: float
    tbt: float
    speed_index: float
    main_thread: float
    bytes: float  # total-byte-weight
    embed_bytes: float  # transferred from the embed's server (vswidget's or Isso's)
    embed_requests: int
    embed_list: list[tuple[str, str, int, int]]  # path, resource type, transferred, decoded
    lcp_element: str
    shifts: list[Shift]
    off_host: list[str]  # URLs asked for anywhere but 127.0.0.1
    warnings: list[str]  # Lighthouse's runWarnings
    others: float  # % of the machine others used in the second before this group of runs
    seconds: float  # the run's duration


def node_name(node: dict[str, Any] | None) -> tuple[str, str]:
    """Return a Lighthouse node's selector (or label) and the start of its HTML."""
    if not node:
        return "(no element)", ""
    return node.get("selector") or node.get("nodeLabel") or "?", node.get("snippet", "")[:160]


def sample_of(
    report: dict[str, Any], embed_origin: str | None, others: float, seconds: float
) -> Sample:
    """Return the figures of one Lighthouse report."""
    audits = report["audits"]
    for key in ("cumulative-layout-shift", *METRICS.values()):
        if audits[key].get("numericValue") is None:
            raise Failed(f"Lighthouse left out {key}: {audits[key].get('errorMessage')}")
    requests = audits["network-requests"]["details"]["items"]
    embedded = [r for r in requests if embed_origin and r["url"].startswith(embed_origin + "/")]
    off_host = [
        r["url"]
        for r in requests
        if urlsplit(r["url"]).scheme in ("http", "https", "ws", "wss")
        and urlsplit(r["url"]).hostname != HOST
    ]
    shifts = []
    for item in (audits["layout-shifts"].get("details") or {}).get("items", []):
        element, snippet = node_name(item.get("node"))
        causes = [
            str(sub.get("cause"))
            for sub in (item.get("subItems") or {}).get("items", [])
            if sub.get("cause")
        ]
        shifts.append(Shift(element, snippet, float(item.get("score", 0)), causes))
    lcp_items = (audits["largest-contentful-paint-element"].get("details") or {}).get("items", [])
    lcp_node = None
    for table in lcp_items:  # a list of tables; the first names the element
        for row in table.get("items", []):
            if isinstance(row.get("node"), dict):
                lcp_node = row["node"]
                break
        if lcp_node:
            break
    return Sample(
        score=100 * (report["categories"]["performance"]["score"] or 0),
        **{name: float(audits[key]["numericValue"]) for name, key in METRICS.items()},
        embed_bytes=float(sum(r.get("transferSize", 0) for r in embedded)),
        embed_requests=len(embedded),
        embed_list=[
            (
                r["url"].removeprefix(embed_origin or ""),
                str(r.get("resourceType", "?")),
                int(r.get("transferSize", 0)),
                int(r.get("resourceSize", 0)),
            )
            for r in embedded
        ],
        lcp_element=node_name(lcp_node)[0],
        shifts=shifts,
        off_host=off_host,
        warnings=[str(w) for w in report.get("runWarnings", [])],
        others=others,
        seconds=seconds,
    )


# -- servers ---------------------------------------------------------------------------------


def blog(folder: Path, logs: Path) -> Any:
    """Serve ``folder`` with `python -m http.server` on 127.0.0.1."""
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", HOST]
    command += ["--directory", str(folder)]
    # SIGTERM: SIGINT may be ignored, as in a background job
    return serving("blog", command, port, logs, ready="/", stop_signal=signal.SIGTERM)


def warm(urls: list[str], times: int = 4) -> None:
    """GET each URL a few times (new connections: both workers), so no run meets a cold cache."""
    for url in urls:
        for _ in range(times):
            status, _, body = http(url)
            if status != 200:
                raise Failed(f"GET {url} answered {status}: {body[:200]!r}")


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Results:
    samples: dict[str, dict[str, dict[str, list[Sample]]]]  # form factor, placement, variant
    settings: dict[str, dict[str, Any]]  # form factor -> Lighthouse's configSettings, in part
    versions: dict[str, str]
    post_words: int
    post_bytes: int
    comparison: str
    snippets: dict[str, str]  # variant -> the embed pasted
    seconds: float = 0.0
    loads: tuple[str, str] = ("?", "?")
    benchmark_index: list[float] = field(default_factory=list)
    widget_bytes: int = 0  # widget.js as served (uncompressed) at the start
    widget_changed: bool = False  # widget.js served at the end differed from the start's


def run(args: argparse.Namespace) -> Results:
    """Start the servers, run Lighthouse on every page round after round; stop everything."""
    started = time.monotonic()
    loads_start = load_average()
    print(f"load average {loads_start}; {CPUS} CPUs", flush=True)
    python = peers.isso_python()
    isso_versions = peers.venv_versions(python, ("isso", "gunicorn"))

    with ExitStack() as stack:
        temp = Path(tempfile.mkdtemp(prefix="vswidget-lighthouse-"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)
        pages, scratch, reports = temp / "site", temp / "scratch", temp / "reports"
        for folder in (pages, scratch, reports):
            folder.mkdir()
        stack.callback(kill_leftovers, scratch)
        (pages / "index.html").write_text("<!doctype html><title>Field Notes</title>")
        site = stack.enter_context(blog(pages, temp))

        isso_folder = temp / "isso"
        isso_folder.mkdir()
        isso_env = {k: v for k, v in os.environ.items() if not k.startswith("VSWIDGET_")}
        isso_env["ISSO_SETTINGS"] = str(peers.isso_config(isso_folder, site))
        isso = stack.enter_context(
            harness.gunicorn(
                "isso", isso_env, temp, "isso.run:application", str(python), ready="/info"
            )
        )

        server, key = stack.enter_context(vswidget_serve(temp))
        from vswidget import Client, Comparison

        with Client(server.base, key) as client:
            slug = client.publish(Comparison.from_file(args.comparison)).slug
            published = client.embed(slug)

        snippets = {
            "baseline": "",
            "vswidget": published.snippet,
            "isso": ISSO_EMBED.format(base=isso.base),
        }
        origins = {"baseline": None, "vswidget": server.base, "isso": isso.base}
        urls: dict[tuple[str, str], str] = {}
        for placement in PLACEMENTS:
            for variant, snippet in snippets.items():
                name = f"{placement}-{variant}.html"
                (pages / name).write_text(post(placement, snippet))
                urls[placement, variant] = f"{site}/{name}"
        token = quote(published.token, safe="")
        warm(
            [
                *urls.values(),
                f"{server.base}/widget.js",
                f"{server.base}/v1/payload/{token}",
                f"{server.base}/v1/payloads?t={token}",
                f"{isso.base}/js/embed.min.js",
                f"{isso.base}/config",
                *(f"{isso.base}/?uri={quote(f'/{p}-isso.html', safe='')}" for p in PLACEMENTS),
            ]
        )

        widget_js = f"{server.base}/widget.js"
        widget_at_start = http(widget_js)[2]
        samples: dict[str, dict[str, dict[str, list[Sample]]]] = {
            f: {p: {v: [] for v in VARIANTS} for p in PLACEMENTS} for f in FORM_FACTORS
        }
        settings: dict[str, dict[str, Any]] = {}
        benchmark_index: list[float] = []
        patience = Patience(args.quiet, args.max_wait, args.wait_budget)
        total = args.rounds * len(FORM_FACTORS) * len(PLACEMENTS) * len(VARIANTS)
        done = 0
        for number in range(1, args.rounds + 1):
            for form_factor in FORM_FACTORS:
                for placement in PLACEMENTS:
                    others = patience.settle()
                    for variant in VARIANTS:
                        done += 1
                        output = reports / f"{number}-{form_factor}-{placement}-{variant}.json"
                        begun = time.monotonic()
                        report = lighthouse(urls[placement, variant], form_factor, output, scratch)
                        seconds = time.monotonic() - begun
                        sample = sample_of(report, origins[variant], others, seconds)
                        samples[form_factor][placement][variant].append(sample)
                        settings.setdefault(form_factor, lighthouse_settings(report))
                        benchmark_index.append(report["environment"]["benchmarkIndex"])
                        if args.reports:
                            args.reports.mkdir(parents=True, exist_ok=True)
                            shutil.copy(output, args.reports / output.name)
                        output.unlink()
                        print(
                            f"[{done}/{total}] round {number} {form_factor:<7} {placement} "
                            f"{variant:<8} score {sample.score:3.0f}  LCP {sample.lcp:5.0f} ms  "
                            f"CLS {sample.cls:.3f}  TBT {sample.tbt:4.0f} ms  main thread "
                            f"{sample.main_thread:5.0f} ms  embed {sample.embed_bytes:6.0f} B  "
                            f"others before {others:.0f}%  ({seconds:.0f} s, "
                            f"{(time.monotonic() - started) / 60:.1f} min in)",
                            flush=True,
                        )
        widget_changed = http(widget_js)[2] != widget_at_start
        if widget_changed:
            print("widget.js changed during the run: its figures mix two versions", flush=True)

    versions = {
        "lighthouse": LIGHTHOUSE_VERSION,
        "chromium": tool_version([CHROMIUM, "--version"]),
        "node": ".".join(map(str, node_version() or ())),
        "isso": isso_versions.get("isso", "?"),
        "isso_gunicorn": isso_versions.get("gunicorn", "?"),
    }
    return Results(
        samples=samples,
        settings=settings,
        versions=versions,
        post_words=words(post("after-p2", "")),
        post_bytes=len(post("after-p2", "").encode()),
        comparison=shown(args.comparison),
        snippets=snippets,
        seconds=time.monotonic() - started,
        loads=(loads_start, load_average()),
        benchmark_index=benchmark_index,
        widget_bytes=len(widget_at_start),
        widget_changed=widget_changed,
    )


def shown(path: Path) -> str:
    """Return a path relative to the repository when it is in it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(resolved)


def lighthouse_settings(report: dict[str, Any]) -> dict[str, Any]:
    """Return the settings of a report that say how it was throttled and emulated."""
    config = report["configSettings"]
    return {
        "formFactor": config["formFactor"],
        "throttlingMethod": config["throttlingMethod"],
        "throttling": config["throttling"],
        "screenEmulation": config["screenEmulation"],
        "networkUserAgent": report["environment"]["networkUserAgent"],
    }


# -- report ----------------------------------------------------------------------------------


def median(samples: list[Sample], name: str) -> float:
    return float(statistics.median(getattr(s, name) for s in samples))


def delta(samples: list[Sample], baseline: list[Sample], name: str) -> float:
    """Return the median over rounds of (this run's figure - the baseline's in that round)."""
    pairs = zip(samples, baseline, strict=True)
    return float(statistics.median(getattr(s, name) - getattr(b, name) for s, b in pairs))


def summary(r: Results) -> dict[str, Any]:
    """Return the medians and differences, as saved in benchmarks/results/lighthouse.json."""
    out: dict[str, Any] = {}
    for form_factor, placements in r.samples.items():
        for placement, variants in placements.items():
            baseline = variants["baseline"]
            for variant, samples in variants.items():
                out.setdefault(form_factor, {}).setdefault(placement, {})[variant] = {
                    "median": {n: median(samples, n) for n in NUMBERS},
                    "delta": (
                        None
                        if variant == "baseline"
                        else {n: delta(samples, baseline, n) for n in NUMBERS}
                    ),
                    "lcp_elements": dict(Counter(s.lcp_element for s in samples)),
                    "shifts": shift_summary(samples),
                    "runs": [
                        {n: getattr(s, n) for n in (*NUMBERS, "others", "seconds")} for s in samples
                    ],
                }
    return out


def shift_summary(samples: list[Sample]) -> list[dict[str, Any]]:
    """Return each element that shifted: in how many runs, its median score when it did."""
    found: dict[str, list[Shift]] = {}
    for s in samples:
        for shift in s.shifts:
            found.setdefault(shift.element, []).append(shift)
    return [
        {
            "element": element,
            "snippet": shifts[0].snippet,
            "runs": sum(1 for s in samples if any(x.element == element for x in s.shifts)),
            "median_score": statistics.median(x.score for x in shifts),
            "causes": sorted({c for x in shifts for c in x.causes}),
        }
        for element, shifts in sorted(found.items(), key=lambda kv: -len(kv[1]))
    ]


def all_samples(r: Results) -> list[Sample]:
    return [s for p in r.samples.values() for v in p.values() for x in v.values() for s in x]


def signed(value: float, digits: int = 0) -> str:
    """Return a difference with its sign, ±0 when it rounds to nothing."""
    if round(value, digits) == 0:
        return f"±{0:.{digits}f}"
    return f"{value:+,.{digits}f}"


# -- results ---------------------------------------------------------------------------------


def tables(results: dict[str, Any]) -> dict[str, Any]:
    """Return the tables of a summary (benchmarks/results/lighthouse.json's "results")."""
    deltas, shifts, found = [], [], {}
    names = [("score", 0), ("lcp", 0), ("main_thread", 0), ("cls", 3)]
    for form_factor, placements in results.items():
        for placement, variants in placements.items():
            cells = [
                signed(variants[variant]["delta"][name], digits)
                for name, digits in names
                for variant in ("vswidget", "isso")
            ]
            deltas.append([form_factor, placement, *cells])
            rows = []
            for variant, figures in variants.items():
                m, d = figures["median"], figures["delta"]
                change = ["—"] * 4
                if d is not None:
                    change = [signed(d[n], digits) for n, digits in names]
                    change = [change[0], change[1], change[3], change[2]]
                embed_cell = f"{m['embed_bytes']:,.0f} ({m['embed_requests']:.0f})"
                lcp = ", ".join(f"`{e}` ({n})" for e, n in Counter(figures["lcp_elements"]).items())
                rows.append(
                    [VARIANTS[variant], m["score"], change[0], m["fcp"], m["lcp"], change[1]]
                    + [m["speed_index"], m["tbt"], m["cls"], change[2], m["main_thread"]]
                    + [change[3], m["bytes"], None if d is None else embed_cell, lcp]
                )
                for shift in figures["shifts"]:
                    shifts.append(
                        [form_factor, placement, VARIANTS[variant], f"`{shift['element']}`"]
                        + [f"{shift['runs']} of {len(figures['runs'])}", shift["median_score"]]
                        + [", ".join(shift["causes"]) or None]
                    )
            columns = [("variant", None), ("score", 0), ("Δ score", 0), ("FCP ms", 0)]
            columns += [("LCP ms", 0), ("Δ LCP ms", 0), ("Speed Index ms", 0), ("TBT ms", 0)]
            columns += [("CLS", 3), ("Δ CLS", 3), ("main thread ms", 0)]
            columns += [("Δ main thread ms", 0), ("bytes", 0), ("embed bytes (requests)", 0)]
            columns += [("LCP element (runs)", None)]
            found[f"{form_factor}-{placement}"] = record.table(columns, rows)
    columns = [("form factor", None), ("placement", None)]
    for name in ("score", "LCP ms", "main thread ms", "CLS"):
        columns += [(f"Δ {name} vswidget", 0), (f"Δ {name} Isso", 0)]
    found["deltas"] = record.table(columns, deltas)
    columns = [("form factor", None), ("placement", None), ("variant", None)]
    columns += [("element that shifted", None), ("runs", None), ("median score", 3)]
    columns += [("causes", None)]
    found["shifts"] = record.table(columns, shifts)
    return found


def saved(r: Results, args: argparse.Namespace) -> dict[str, Any]:
    """Return what benchmarks/results/lighthouse.json holds besides the tables."""
    first = {v: r.samples["mobile"]["after-p1"][v][0].embed_list for v in ("vswidget", "isso")}
    return {
        "rounds": args.rounds,
        "seconds": round(r.seconds),
        "lighthouse_benchmark_index": {
            "median": statistics.median(r.benchmark_index),
            "min": min(r.benchmark_index),
            "max": max(r.benchmark_index),
        },
        "others_before_runs_percent": {
            "median": statistics.median(s.others for s in all_samples(r)),
            "max": max(s.others for s in all_samples(r)),
        },
        "versions": r.versions,
        "lighthouse_command": lighthouse_command("URL", "mobile", Path("OUT.json")),
        "settings": r.settings,
        "post": {"words": r.post_words, "bytes": r.post_bytes, "placements": PLACEMENTS},
        "comparison": r.comparison,
        "snippets": r.snippets,
        "widget_js_bytes": r.widget_bytes,
        "widget_js_changed_during_run": r.widget_changed,
        "warnings": sorted({w for s in all_samples(r) for w in s.warnings}),
        "off_host_requests": sorted({u for s in all_samples(r) for u in s.off_host}),
        "embed_requests_first_mobile_run_after_p1": first,
        "results": summary(r),
    }


# -- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds of every page and form factor (5)")
    parser.add_argument("--quick", action="store_true", help="1 round")
    parser.add_argument(
        "--comparison", type=Path, default=COMPARISON, help="the comparison vswidget publishes"
    )
    parser.add_argument(
        "--reports", type=Path, help="keep every Lighthouse JSON report in this folder"
    )
    harness.patience_options(parser, quiet=25, max_wait=15, wait_budget=60)
    harness.save_option(parser)
    args = harness.checked(parser, parser.parse_args())
    args.rounds = args.rounds or (1 if args.quick else 5)
    if not 1 <= args.rounds <= 20:
        parser.error("use 1..20 rounds")
    if not args.comparison.exists():
        parser.error(f"{args.comparison} does not exist")
    return args


def main() -> int:
    args = parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`.")
        return 2
    ensure_lighthouse()
    r = run(args)
    more = saved(r, args)
    found = tables(more["results"])
    record.report("lighthouse", r.loads, found, args.save, **more)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "lighthouse.py")
