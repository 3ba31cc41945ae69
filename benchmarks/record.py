"""What a benchmark run records: statistics of its runs, notes on the machine, its results.

Results are saved as JSON in benchmarks/results/NAME.json; benchmarks/render.py puts their
tables into the docs.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


# -- what was measured -----------------------------------------------------------------------


@dataclass
class LoadRun:
    """What one wrk measurement of a server gave."""

    rps: float  # requests per second (writes: acknowledged ones)
    p50: float  # milliseconds
    p90: float
    p99: float
    server_us: float  # CPU time of the server's processes per (answered) request, microseconds
    workers: list[float]  # CPU of each gunicorn worker, in cores, busiest first
    others: float  # CPU used meanwhile by processes not ours, % of the machine


R = TypeVar("R", bound=LoadRun)


def median_run(runs: list[R]) -> R:
    """Return the run with the median requests per second (the lower middle one if even)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def ratios(subject: list[R], baseline: list[R]) -> list[float]:
    """Return the subject/baseline ratio of requests per second, round by round."""
    return [s.rps / b.rps for s, b in zip(subject, baseline, strict=True) if b.rps > 0]


def cpu_ratios(subject: list[R], baseline: list[R]) -> list[float]:
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
        "cpus": len(os.sched_getaffinity(0)),
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


def report(
    name: str, loads: tuple[str, str], tables: dict[str, Any], keep: bool, **more: Any
) -> None:
    """Print a run's tables and its shorter figures; save them all when ``keep`` is true."""
    from render import markdown

    for key, found in tables.items():
        print(f"\n{key}:\n{markdown(found)}")
    for key, value in more.items():
        text = json.dumps(value, ensure_ascii=False)
        if len(text) < 400:
            print(f"{key}: {text}")
    if keep:
        save(name, loads, tables, **more)
    else:
        print("(not saved: pass --save to save a quick run)")
