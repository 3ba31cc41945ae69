"""Lighthouse benchmark: one blog post without an embed, with vswidget's snippet, with Isso's.

    .venv/bin/python benchmarks/lighthouse.py [--rounds N] [--quick] [--no-docs]

In one run, on 127.0.0.1 only, this script

1. makes sure Lighthouse (LIGHTHOUSE_VERSION, pinned by benchmarks/package.json and
   benchmarks/package-lock.json) is installed in benchmarks/node_modules, running
   `npm ci --prefix benchmarks --no-audit --no-fund` when it is not;
2. starts three servers, each its own process on its own origin, as on a real blog:
   `vswidget serve --workers 2` on a temporary instance folder, with COMPARISON published
   through the SDK; Isso (benchmarks/peers.py's virtualenv and configuration) under gunicorn
   with the settings peers.py gives it; and `python -m http.server` serving the blog post;
3. writes one blog post (POST: about 750 words, its stylesheet inline, nothing external) in
   two placements of the embed, after the 2nd paragraph (below the first screen on a phone)
   and after the 1st (on the first screen), each in three variants that differ only by the
   embed: none (the baseline), vswidget's snippet as GET /api/v1/comparisons/SLUG/embed gives
   it, and Isso's documented embed (its embed.min.js and `<section id="isso-thread">`);
4. runs the Lighthouse CLI (performance only, simulated throttling as Lighthouse defaults)
   driving /usr/bin/chromium on every page, with the mobile defaults and with
   `--preset=desktop`, round after round, the variants interleaved, and checks that no run
   warned or asked for anything off this machine;
5. prints the medians and each embed's difference to the baseline measured in the same
   rounds, and, on full runs, saves them to benchmarks/results/lighthouse.json and writes
   its section of docs/performance.md.

It needs Node.js 18.16 or later with npm, and Chromium at /usr/bin/chromium
(`apt-get install -y nodejs npm chromium`); no browser is downloaded. Every process it starts
(the servers, Lighthouse and its Chromium) is stopped, and every temporary folder deleted, on
success, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote, urlsplit

import embed
import peers
import writes
from embed import CHROMIUM, CPUS, HOST, ROOT, Failed

HERE = Path(__file__).resolve().parent
SECTION = "## Lighthouse: the post with and without the widget"
RESULTS = HERE / "results" / "lighthouse.json"
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
POST = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Choosing a speech-recognition model for our meeting notes | Field Notes</title>
<meta name="description" content="How we picked the speech-recognition model behind our \
meeting notes: our own audio first, then accuracy, speed, memory and licenses.">
<style>
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: #1f2328; background: #fdfdfb;
  font: 18px/1.65 Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif; }
a { color: #0b5cad; text-underline-offset: 2px; }
a:hover { color: #07417a; }
.site { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between;
  gap: .25rem 1.5rem; max-width: 44rem; margin: 0 auto; padding: 1rem 1.25rem;
  border-bottom: 1px solid #e4e4df; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; }
.brand { font-weight: 700; font-size: 1.15rem; color: inherit; text-decoration: none; }
.site nav a { margin-right: 1rem; font-size: .95rem; text-decoration: none; }
main { max-width: 44rem; margin: 0 auto; padding: 0 1.25rem 3rem; }
h1 { font-size: clamp(1.9rem, 5vw, 2.6rem); line-height: 1.15; letter-spacing: -.01em;
  margin: 2rem 0 .5rem; }
h2 { font-size: 1.45rem; line-height: 1.25; margin: 2.25rem 0 .5rem; }
.meta { margin: 0 0 1.5rem; color: #5c6370;
  font: .9rem/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
p, ul { margin: 0 0 1.1rem; }
ul { padding-left: 1.4rem; }
li { margin: .25rem 0; }
blockquote { margin: 1.5rem 0; padding: .25rem 0 .25rem 1.1rem; border-left: 4px solid #d0d7de;
  color: #3d444d; font-style: italic; }
blockquote p { margin: 0; }
code { font: .86em/1 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: #f1f1ec; padding: .1em .3em; border-radius: 4px; }
.post-footer { margin-top: 2.5rem; padding-top: 1rem; border-top: 1px solid #e4e4df;
  color: #5c6370; font: .9rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.site-footer { max-width: 44rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; color: #5c6370;
  font: .85rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
</style>
</head>
<body>
<header class="site">
<a class="brand" href="/">Field Notes</a>
<nav><a href="/">Posts</a><a href="/about/">About</a><a href="/feed.xml">RSS</a></nav>
</header>
<main>
<article>
<h1>Choosing a speech-recognition model for our meeting notes</h1>
<p class="meta">By Maren Holt · 14 May · 6 min read</p>
<p>Our app turns recorded team meetings into searchable notes. Until this spring every minute
of audio went to a hosted transcription API. Now it runs on two GPUs in our own rack, and
this is how we chose the model.</p>
$after_p1
<p>We did not start with a shortlist of models; we started with a list of what our customers
actually send us. Most recordings come from laptop microphones in small rooms, with two to six
speakers, some crosstalk and the occasional dog. About a fifth are not in English, mostly
German, Spanish and Polish, and a few customers switch languages halfway through a sentence.
Meetings run from fifteen minutes to three hours, and people expect their notes within a few
minutes of hanging up. The transcript feeds a summarizer and a search index, so punctuation
and speaker turns matter as much as individual words, and timestamps have to be close enough
to jump to the right moment in the recording. Then the budget: the hosted API cost us a
little more every month as usage grew, and we wanted a fixed cost we could plan around, on
hardware we already owned, under a license that lets us ship the weights inside a customer's
own deployment.</p>
$after_p2
<h2>Start from your own audio</h2>
<p>Public leaderboards are a useful first filter, but they are built from read speech,
audiobooks and podcasts: clean audio, one speaker at a time. Our recordings sound nothing like
that. We took two hundred meetings that customers had agreed to share for quality work, cut
them into ten-minute segments, and had two people correct the existing transcripts by hand.
That gave us about thirty hours of reference text that sounds like our product, awkward parts
included: names of internal projects, numbers read aloud, people talking over each other.</p>
<h2>What we measured</h2>
<p>Every candidate went through the same pipeline on the same segments, and for each we
recorded:</p>
<ul>
<li>the word error rate against the corrected reference, after normalizing case, punctuation
and numbers;</li>
<li>the error rate on the non-English segments alone, since an average hides them;</li>
<li>the real-time factor on one GPU: seconds of compute per second of audio;</li>
<li>peak GPU memory, which decides how many streams can share a card;</li>
<li>how often a word's timestamp drifted by more than half a second.</li>
</ul>
<p>We ran everything three times and kept the median, because the first run on a cold card
was always slower than the rest. The scoring script lives next to the reference text, in
<code>eval/score.py</code>, so anyone on the team can run it again.</p>
<h2>Accuracy is not one number</h2>
<p>The large multilingual models were the most accurate overall, and the only ones that kept
their footing when a sentence switched from German to English. The compact English models
came close on English audio and ran several times faster, but their mistakes clustered on
exactly the words our users search for: product names, acronyms and people's names. A small
difference in the average error rate mattered less than whether the word someone types into
the search box is spelled the way it was said.</p>
<blockquote><p>Count the errors your users will notice, not only the errors a benchmark
counts.</p></blockquote>
<h2>Speed, memory and cost</h2>
<p>Speed turned out to be easier to buy than accuracy. Batching segments, running the encoder
in half precision and switching to a faster decoding library each helped more than changing
the model did. Memory was the real limit: a model that needs most of a card serves one meeting
at a time, while a small one lets four share it, and that decides how many cards a busy Monday
morning needs.</p>
<p>Licenses narrowed the list further. Some checkpoints we liked allow research use only;
others allow commercial use but not redistribution, which rules them out for customers who run
our app on their own servers.</p>
<h2>What we shipped</h2>
<p>We ended up with two models behind one interface. A compact English model takes the
recordings our language detector is confident are English, which is most of them, and a large
multilingual model takes the rest, along with anything the detector is unsure about. The
router is twenty lines of code, and the large model now sees a fraction of the audio it would
otherwise have to chew through.</p>
<p>If you are making the same choice, our advice is short: collect an hour of your own audio
before you read any leaderboard, correct it by hand, and keep the script that scores it. New
models arrive every few months, and the next time one does, you will know within an afternoon
whether it is better for you.</p>
<footer class="post-footer">
<p>Filed under <a href="/tags/speech/">speech</a>, <a href="/tags/ml/">machine learning</a>
and <a href="/tags/infra/">infrastructure</a>. Questions or corrections:
<a href="mailto:notes@example.com">notes@example.com</a>.</p>
</footer>
</article>
</main>
<footer class="site-footer">© Field Notes. Written by the team that builds our meeting notes
app.</footer>
</body>
</html>
""")

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


def process_tree(root: int) -> list[int]:
    """Return ``root`` and all its descendants, parents first."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(entry.name)] = int(stat[1])
    tree, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        tree.append(pid)
        todo += [child for child, parent in parents.items() if parent == pid]
    return tree


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a process and every descendant: Chromium runs in a process group of its own."""
    for pid in process_tree(process.pid):  # the whole tree first: orphans leave it
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
            f"Lighthouse wrote no report for {url} (exit {status}):\n{embed.tail(log)}"
        ) from error
    if report.get("runtimeError"):
        raise Failed(f"Lighthouse on {url}: {report['runtimeError']}")
    if status != 0:
        raise Failed(f"Lighthouse on {url} exited with {status}:\n{embed.tail(log)}")
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


@contextmanager
def blog(folder: Path, logs: Path) -> Iterator[str]:
    """Serve ``folder`` with `python -m http.server` on 127.0.0.1; yield the base URL."""
    port = embed.free_port()
    log = logs / "blog.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                HOST,
                "--directory",
                str(folder),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = embed.Server("blog", f"http://{HOST}:{port}", process, log)
    try:
        embed.wait_ready(server, path="/")
        yield server.base
    finally:
        process.terminate()  # SIGTERM: SIGINT may be ignored, as in a background job
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def vswidget(temp: Path) -> Iterator[tuple[embed.Server, str]]:
    """Run `vswidget serve --workers 2` on a new instance folder; yield it and an API key."""
    port = embed.free_port()
    base = f"http://{HOST}:{port}"
    env = embed.clean_env(
        temp / "instance",
        VSWIDGET_SECRET_KEYS=secrets.token_urlsafe(32),
        VSWIDGET_PUBLIC_URL=base,
    )
    embed.vswidget_cli(env, "db", "upgrade")
    key = embed.vswidget_cli(env, "publisher", "create", "bench").strip().splitlines()[-1]
    command = [str(Path(sys.executable).with_name("vswidget")), "serve", "--host", HOST]
    command += ["--port", str(port), "--workers", "2"]
    log = temp / "vswidget.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = embed.Server("vswidget serve", base, process, log)
    try:
        embed.wait_ready(server, seconds=60)
        yield server, key
    finally:
        embed.stop(process)


def settle(quiet: float, wait: float, budget: list[float]) -> float:
    """Wait until other processes use under ``quiet`` % of the machine, within ``wait`` s and
    what is left of ``budget[0]``; return the share they used in the last second."""
    started = time.monotonic()
    deadline = started + min(wait, budget[0])
    while (others := embed.others_now()) >= quiet and time.monotonic() < deadline:
        print(f"  waiting: other processes use {others:.0f}% of the CPU", flush=True)
    budget[0] = max(0.0, budget[0] - (time.monotonic() - started))
    return others


def warm(urls: list[str], times: int = 4) -> None:
    """GET each URL a few times (new connections: both workers), so no run meets a cold cache."""
    for url in urls:
        for _ in range(times):
            status, _, body = embed.fetch(url)
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
    started: str = ""
    benchmark_index: list[float] = field(default_factory=list)
    widget_bytes: int = 0  # widget.js as served (uncompressed) at the start
    widget_changed: bool = False  # widget.js served at the end differed from the start's


def run(args: argparse.Namespace) -> Results:
    """Start the servers, run Lighthouse on every page round after round; stop everything."""
    started = time.monotonic()
    loads_start = writes.load_average()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"load average {loads_start}; {CPUS} CPUs", flush=True)
    python = peers.isso_python()
    isso_versions = peers.venv_versions(python, ("isso", "gunicorn"))

    embed.stop_on_sigterm()
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
            embed.gunicorn(
                "isso", isso_env, temp, "isso.run:application", str(python), ready="/info"
            )
        )

        server, key = stack.enter_context(vswidget(temp))
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
        widget_at_start = embed.fetch(widget_js)[2]
        samples: dict[str, dict[str, dict[str, list[Sample]]]] = {
            f: {p: {v: [] for v in VARIANTS} for p in PLACEMENTS} for f in FORM_FACTORS
        }
        settings: dict[str, dict[str, Any]] = {}
        benchmark_index: list[float] = []
        budget = [args.wait_budget]
        total = args.rounds * len(FORM_FACTORS) * len(PLACEMENTS) * len(VARIANTS)
        done = 0
        for number in range(1, args.rounds + 1):
            for form_factor in FORM_FACTORS:
                for placement in PLACEMENTS:
                    others = settle(args.quiet, args.max_wait, budget)
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
        widget_changed = embed.fetch(widget_js)[2] != widget_at_start
        if widget_changed:
            print("widget.js changed during the run: its figures mix two versions", flush=True)

    versions = {
        "lighthouse": LIGHTHOUSE_VERSION,
        "chromium": embed.tool_version([CHROMIUM, "--version"]),
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
        loads=(loads_start, writes.load_average()),
        started=when,
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


def saved(r: Results, args: argparse.Namespace) -> dict[str, Any]:
    """Return everything benchmarks/results/lighthouse.json holds."""
    return {
        "measured": r.started,
        "command": command_line(),
        "code": embed.code_version(),
        "rounds": args.rounds,
        "seconds": round(r.seconds),
        "machine": {
            "cpus": CPUS,
            "cpu": embed.cpu_model(),
            "linux": platform.release(),
            "python": platform.python_version(),
            "load_average": list(r.loads),
            "lighthouse_benchmark_index_median": statistics.median(r.benchmark_index),
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
        "results": summary(r),
    }


def all_samples(r: Results) -> list[Sample]:
    return [s for p in r.samples.values() for v in p.values() for x in v.values() for s in x]


def command_line() -> str:
    return ".venv/bin/python benchmarks/lighthouse.py" + "".join(
        " " + shlex.quote(a) for a in sys.argv[1:]
    )


def signed(value: float, digits: int = 0) -> str:
    """Return a difference with its sign, ±0 when it rounds to nothing."""
    if round(value, digits) == 0:
        return f"±{0:.{digits}f}"
    return f"{value:+,.{digits}f}"


def table(r: Results, form_factor: str, placement: str) -> list[str]:
    """Return the table of one form factor and placement: medians, and Δ to the baseline."""
    variants = r.samples[form_factor][placement]
    baseline = variants["baseline"]
    lines = [
        "| variant | score | Δ score | FCP ms | LCP ms | Δ LCP ms | Speed Index ms | TBT ms | "
        "CLS | Δ CLS | main thread ms | Δ main thread ms | bytes | embed bytes (requests) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, samples in variants.items():
        m = {n: median(samples, n) for n in NUMBERS}
        if variant == "baseline":
            d = ["—"] * 4
        else:
            d = [
                signed(delta(samples, baseline, "score")),
                signed(delta(samples, baseline, "lcp")),
                signed(delta(samples, baseline, "cls"), 3),
                signed(delta(samples, baseline, "main_thread")),
            ]
        embed_cell = (
            "—" if variant == "baseline" else f"{m['embed_bytes']:,.0f} ({m['embed_requests']:.0f})"
        )
        lines.append(
            f"| {VARIANTS[variant]} | {m['score']:.0f} | {d[0]} | {m['fcp']:,.0f} | "
            f"{m['lcp']:,.0f} | {d[1]} | {m['speed_index']:,.0f} | {m['tbt']:,.0f} | "
            f"{m['cls']:.3f} | {d[2]} | {m['main_thread']:,.0f} | {d[3]} | {m['bytes']:,.0f} | "
            f"{embed_cell} |"
        )
    notes = []
    for variant, samples in variants.items():
        for shift in shift_summary(samples):
            causes = f"; causes: {', '.join(shift['causes'])}" if shift["causes"] else ""
            notes.append(
                f"- {VARIANTS[variant]}: `{shift['element']}` shifted in {shift['runs']} of "
                f"{len(samples)} runs (median score {shift['median_score']:.3f}{causes})"
            )
        elements = Counter(s.lcp_element for s in samples).most_common()
        lcp = ", ".join(f"`{e}` ({n})" for e, n in elements)
        notes.append(f"- {VARIANTS[variant]}: LCP element {lcp}")
    return [*lines, "", *notes]


def request_lines(r: Results) -> list[str]:
    """Return what each embed asked its server for, in the first mobile run on the first screen."""
    lines = []
    for variant in ("vswidget", "isso"):
        first = r.samples["mobile"]["after-p1"][variant][0]
        asked = ", ".join(
            f"`{path.split('?')[0]}{'?…' if '?' in path else ''}` {kind} "
            f"{sent:,} B ({decoded:,} B decoded)"
            for path, kind, sent, decoded in first.embed_list
        )
        lines.append(
            f"- {VARIANTS[variant]}'s requests to its server (first mobile run, after-p1): "
            + (asked or "none")
        )
    return lines


def throttling_line(form_factor: str, settings: dict[str, Any]) -> str:
    t, screen = settings["throttling"], settings["screenEmulation"]
    return (
        f"- {form_factor} (`{'--preset=desktop' if form_factor == 'desktop' else 'default'}`): "
        f"throttling `{settings['throttlingMethod']}` (Lighthouse's default), RTT "
        f"{t['rttMs']:g} ms, {t['throughputKbps']:,.1f} Kbit/s, CPU slowdown "
        f"×{t['cpuSlowdownMultiplier']:g}; screen {screen['width']}×{screen['height']} at "
        f"device scale {screen['deviceScaleFactor']:g}" + (", mobile" if screen["mobile"] else "")
    )


def render(r: Results, args: argparse.Namespace) -> str:
    """Return this benchmark's section of docs/performance.md."""
    every = all_samples(r)
    warnings = Counter(w for s in every for w in s.warnings)
    off_host = sorted({u for s in every for u in s.off_host})
    others = [s.others for s in every]
    summary_rows = []
    for form_factor in FORM_FACTORS:
        for placement in PLACEMENTS:
            variants = r.samples[form_factor][placement]
            cells = []
            for name, digits in (("score", 0), ("lcp", 0), ("main_thread", 0), ("cls", 3)):
                for variant in ("vswidget", "isso"):
                    cells.append(
                        signed(delta(variants[variant], variants["baseline"], name), digits)
                    )
            summary_rows.append(f"| {form_factor} | {placement} | " + " | ".join(cells) + " |")
    lines = [
        SECTION,
        "",
        f"Measured {r.started} by `benchmarks/lighthouse.py`; reproduce with `{command_line()}` "
        f"(this run took {r.seconds / 60:.0f} minutes). Code: {embed.code_version()}.",
        "",
        "One blog post, served by `python -m http.server` on 127.0.0.1, in three variants that "
        "differ only by the embed: none (the baseline), vswidget's snippet (as `GET "
        f"/api/v1/comparisons/SLUG/embed` gives it for `{r.comparison}`, served by `vswidget "
        "serve --workers 2`), and Isso's comment embed (its `embed.min.js` and `<section "
        f'id="isso-thread">`, an empty thread, Isso {r.versions["isso"]} under gunicorn as in '
        "benchmarks/peers.py); each server on an origin of its own. The post has "
        f"{r.post_words} words and {r.post_bytes:,} bytes without an embed, its stylesheet "
        "inline, nothing external. Two placements of the embed: "
        + "; ".join(f"`{k}`, {v}" for k, v in PLACEMENTS.items())
        + ".",
        "",
        "Differences to the baseline (median over rounds of the variant's figure minus the "
        "baseline's in the same round):",
        "",
        "| form factor | placement | Δ score vswidget | Δ score Isso | Δ LCP ms vswidget | "
        "Δ LCP ms Isso | Δ main thread ms vswidget | Δ main thread ms Isso | Δ CLS vswidget | "
        "Δ CLS Isso |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *summary_rows,
        "",
    ]
    for form_factor in FORM_FACTORS:
        for placement in PLACEMENTS:
            lines += [
                f"### {form_factor}, embed {PLACEMENTS[placement]}",
                "",
                *table(r, form_factor, placement),
                "",
            ]
    lines += [
        "### How it was run",
        "",
        f"- Lighthouse {r.versions['lighthouse']} (npm, pinned by benchmarks/package-lock.json) "
        f"on Node.js {r.versions['node']}, driving {r.versions['chromium']} at {CHROMIUM}: "
        f"`{shlex.join(lighthouse_command('URL', 'mobile', Path('OUT.json')))}` with "
        f"`CHROME_PATH={CHROMIUM}`, a new Chromium and profile per run",
        *(throttling_line(f, r.settings[f]) for f in FORM_FACTORS),
        f"- {args.rounds} round{'s' if args.rounds > 1 else ''}; in each, for each form "
        "factor and placement, baseline, "
        "vswidget and Isso one after the other; figures are medians over rounds. *Score* is "
        "Lighthouse's performance score (0..100); *main thread* is the "
        "`mainthread-work-breakdown` total, *bytes* `total-byte-weight`, *embed bytes* what "
        "came from the embed's server (transfer size), with the number of requests",
        f"- machine: `nproc` {CPUS}, {embed.cpu_model()}, Linux {platform.release()}; load "
        f"average {r.loads[0]} at the start, {r.loads[1]} at the end; in the second before "
        "each group of three runs, processes not started by the benchmark used a median "
        f"{statistics.median(others):.0f} % (at most {max(others):.0f} %) of the machine; "
        "Lighthouse's benchmark index of the machine: median "
        f"{statistics.median(r.benchmark_index):.0f}, {min(r.benchmark_index):.0f} to "
        f"{max(r.benchmark_index):.0f}",
        "- Lighthouse's run warnings: "
        + (
            "none"
            if not warnings
            else "; ".join(f"{w.strip()} ({n} of {len(every)} runs)" for w, n in warnings.items())
        ),
        "- requests anywhere but 127.0.0.1: " + ("none" if not off_host else ", ".join(off_host)),
        f"- widget.js as served: {r.widget_bytes:,} bytes uncompressed; "
        + (
            "**it changed during the run: these figures mix two versions of it**"
            if r.widget_changed
            else "the same at the start and at the end of the run"
        ),
        *request_lines(r),
        "",
    ]
    return "\n".join(lines)


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
    parser.add_argument(
        "--quiet", type=float, default=25.0, help="%% of the CPU others may use (25)"
    )
    parser.add_argument(
        "--max-wait", type=float, default=15.0, help="seconds to wait for quiet, each time (15)"
    )
    parser.add_argument(
        "--wait-budget", type=float, default=60.0, help="seconds to wait for quiet in all (60)"
    )
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        help="write docs/performance.md and benchmarks/results/lighthouse.json "
        "(default: on for full runs, off with --quick)",
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.docs = (not args.quick) if args.docs is None else args.docs
    if not 1 <= args.rounds <= 20:
        parser.error("use 1..20 rounds")
    if not (0 <= args.max_wait <= 300 and 0 <= args.wait_budget <= 3600):
        parser.error("use 0..300 s of --max-wait and 0..3600 s of --wait-budget")
    if not args.comparison.exists():
        parser.error(f"{args.comparison} does not exist")
    return args


def main() -> int:
    args = parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`.")
        return 2
    ensure_lighthouse()
    results = run(args)
    section = render(results, args)
    print("\n" + section)
    if args.docs:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(saved(results, args), indent=2) + "\n")
        embed.write_doc(section, SECTION)
        print(f"written to {RESULTS.relative_to(ROOT)} and {embed.DOC.relative_to(ROOT)}")
    else:
        print("(docs/performance.md and the JSON not written: pass --docs to write a quick run)")
    return 0


if __name__ == "__main__":
    embed.run_main(main, "lighthouse.py")
