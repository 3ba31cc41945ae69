"""User agents into device class and browser family: vswidget's token classifier against ua-parser.

    .venv/bin/python benchmarks/user_agents.py [--rounds N] [--quick] [--save]

Each event batch classifies its request's User-Agent once (src/vswidget/server/user_agents.py,
cached by header), so what matters is a worker's memory and the CPU of a header not seen
before. In fresh interpreters, rounds alternating the order, this script measures for
vswidget's classifier and for ua-parser (UA_PARSER, with its precompiled rules
ua-parser-builtins, in benchmarks/.ua-parser-venv, git-ignored, made from the package
index on the first run): the import, the first classification (ua-parser compiles its
rules then), microseconds per classification of headers never seen before, and the
process's USS after that against before the import (the headers made beforehand).
ua-parser's figure is a bare ``parse``, before any mapping of its families onto
classes. Full runs (or --save) save benchmarks/results/user_agents.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import harness
import record
from harness import ROOT, Failed
from record import load_average

HERE = Path(__file__).resolve().parent
UA_PARSER = {"ua-parser": "1.0.2", "ua-parser-builtins": "202610"}
VENV = HERE / ".ua-parser-venv"
HEADERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
]
# Run in a fresh interpreter: argv[1] what a worker has loaded already, argv[2] the import,
# argv[3] the call, argv[4] the headers, argv[5] how many to classify.
PROBE = """
import json, sys, time
exec(sys.argv[1])
headers = json.loads(sys.argv[4])
count = int(sys.argv[5])
unseen = [f"{h} n/{i}" for i in range(count // len(headers)) for h in headers]
def uss():
    with open("/proc/self/smaps_rollup") as f:
        rows = dict(line.split(":", 1) for line in f if ":" in line)
    return sum(int(rows[k].split()[0]) for k in ("Private_Clean", "Private_Dirty")) / 1024
before = uss()
start = time.perf_counter()
exec(sys.argv[2])
imported = time.perf_counter() - start
classify = eval(sys.argv[3])
start = time.perf_counter()
classify(headers[0])
first = time.perf_counter() - start
start = time.perf_counter()
for header in unseen:
    classify(header)
each = (time.perf_counter() - start) / len(unseen)
print(json.dumps({"import_ms": imported * 1e3, "first_ms": first * 1e3,
                  "us": each * 1e6, "uss_mib": uss() - before}))
"""
# name -> (loaded before: the server package a worker holds anyway, the import, the call)
CLASSIFIERS = {
    "vswidget (user_agents.py)": (
        "import vswidget.server",
        "from vswidget.server.user_agents import classify",
        "classify",
    ),
    "ua-parser + builtins": ("", "import ua_parser", "ua_parser.parse"),
}


def ua_parser_python() -> Path:
    """Return the Python of ua-parser's virtualenv, making it first when it lacks UA_PARSER."""
    python = VENV / "bin" / "python"
    script = (
        "import json, sys; from importlib.metadata import version as v; "
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )

    def versions() -> dict[str, str]:
        done = subprocess.run(
            [str(python), "-c", script, *UA_PARSER], capture_output=True, text=True, timeout=60
        )
        found: dict[str, str] = json.loads(done.stdout) if done.returncode == 0 else {}
        return found

    if python.exists() and versions() == UA_PARSER:
        return python
    print(f"making {VENV.relative_to(ROOT)} with {UA_PARSER} (first run only)", flush=True)
    for step in (
        [sys.executable, "-m", "venv", "--clear", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet"]
        + [f"{package}=={version}" for package, version in UA_PARSER.items()],
    ):
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise Failed(f"{step[:3]} failed: {(done.stderr or done.stdout)[-800:]}")
    if versions() != UA_PARSER:
        raise Failed(f"{VENV} does not hold {UA_PARSER} after pip install")
    return python


def probe(python: Path, name: str, count: int) -> dict[str, float]:
    """Measure one classifier in a fresh interpreter."""
    loaded, load, call = CLASSIFIERS[name]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(python), "-c", PROBE, loaded, load, call, json.dumps(HEADERS), str(count)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd="/",
    )
    if done.returncode != 0:
        raise Failed(f"{name}: {done.stderr.strip()[-800:]}")
    found: dict[str, float] = json.loads(done.stdout)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 rounds, fewer headers")
    harness.save_option(parser)
    args = parser.parse_args()
    loads = (load_average(), "")
    rounds = 2 if args.quick else args.rounds
    pythons = {
        "vswidget (user_agents.py)": Path(sys.executable),
        "ua-parser + builtins": ua_parser_python(),
    }
    counts = {"vswidget (user_agents.py)": 60_000, "ua-parser + builtins": 1_200}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in CLASSIFIERS}
    for number in range(rounds):
        order = list(CLASSIFIERS) if number % 2 == 0 else list(reversed(CLASSIFIERS))
        for name in order:
            runs[name].append(probe(pythons[name], name, counts[name] // (5 if args.quick else 1)))
    medians = {
        name: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for name, found in runs.items()
    }
    ours, theirs = medians["vswidget (user_agents.py)"], medians["ua-parser + builtins"]
    rows: list[list[Any]] = [
        [name, m["import_ms"], m["first_ms"], m["us"], m["uss_mib"]] for name, m in medians.items()
    ]
    rows.append(
        [
            "ua-parser ÷ vswidget",
            theirs["import_ms"] / ours["import_ms"],
            theirs["first_ms"] / max(ours["first_ms"], 1e-3),
            theirs["us"] / ours["us"],
            theirs["uss_mib"] / max(ours["uss_mib"], 1e-3),
        ]
    )
    columns: list[record.Column] = [
        ("classifier", None),
        ("import, ms", 1),
        ("first call, ms", 2),
        ("µs per header not seen before", 1),
        ("USS added, MiB", 1),
    ]
    tables = {"classifiers": record.table(columns, rows)}
    keep = args.save or not args.quick
    record.report("user_agents", (loads[0], load_average()), tables, keep, rounds=rounds)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "user_agents.py")
