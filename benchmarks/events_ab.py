"""Event ingestion on PostgreSQL, several versions of vswidget side by side, rounds alternated.

    .venv/bin/python benchmarks/events_ab.py LABEL=REV[:THREADS[:log]] ... [--rounds N]
        [--seconds S] [--postgresql URL]

REV is a commit (each is checked out in a temporary git worktree, removed afterwards) or
WORK for this checkout as it is; THREADS (default: GUNICORN's) the gunicorn threads of
that server, and ``log`` gives it gunicorn's access log on stdout (as `vswidget serve`
had before it took --access-log). Every server runs at once, each with its own schema
in the PostgreSQL of ``--postgresql`` (default VSWIDGET_TEST_DATABASE_URL), each serving
its own version's src/ and benchmarks/writes.py as writes.py serves one (2 gthread
workers, behind a proxy, budgets and rate limits raised). Each round loads every server
in turn with writes.py's event batches (wrk, 16 connections, many readers), starting
one later each round, so drift in the machine's load falls on all of them alike: on a
shared 2-core machine one server's figure from one run says little, the ratio between
versions measured this way says more. Prints each round and a table: events/s (median
round), server CPU a batch, batches a flush, flush p50, and acknowledged = stored
(checked after every measurement).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import harness
import writes
from harness import ROOT, Failed

THREADS = harness.GUNICORN["threads"]  # a server's, unless its variant says


def worktree(stack: ExitStack, temp: Path, rev: str) -> Path:
    """Check ``rev`` out in a worktree under ``temp``, removed when ``stack`` closes."""
    tree = temp / f"tree-{rev}"
    git = ["git", "-C", str(ROOT)]
    subprocess.run(
        [*git, "worktree", "add", "--detach", str(tree), rev], check=True, capture_output=True
    )
    stack.callback(subprocess.run, [*git, "worktree", "remove", "--force", str(tree)], check=False)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", metavar="LABEL=REV[:THREADS[:log]]")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--postgresql", default=os.environ.get("VSWIDGET_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.postgresql:
        raise SystemExit("PostgreSQL is needed: --postgresql URL or VSWIDGET_TEST_DATABASE_URL")
    runs: dict[str, list[writes.Run]] = {}
    with ExitStack() as stack, tempfile.TemporaryDirectory(dir="/var/tmp") as folder:
        temp = Path(folder)
        targets = []
        for number, variant in enumerate(args.variants):
            label, _, spec = variant.partition("=")
            rev, _, options = spec.partition(":")
            threads, _, log = options.partition(":")
            tree = ROOT if rev == "WORK" else worktree(stack, temp, rev)
            # The server imports that version's src/ and benchmarks/ (harness.gunicorn's
            # --pythonpath); the benchmark's wrk script and checks are this checkout's.
            os.environ["PYTHONPATH"] = str(tree / "src")
            harness.HERE = tree / "benchmarks"
            harness.GUNICORN["threads"] = int(threads or THREADS)
            harness.GUNICORN.pop("access-logfile", None)
            if log == "log":
                harness.GUNICORN["access-logfile"] = "-"
            url = stack.enter_context(
                harness.postgresql_schema(args.postgresql, f"vsw_ab_{number}")
            )
            (temp / label).mkdir()
            found = stack.enter_context(writes.backend("PostgreSQL", temp / label, url))
            events = next(t for t in writes.targets_for(found) if t.kind == "events")
            targets.append((label, events))
        os.environ.pop("PYTHONPATH", None)
        lua = temp / "events.lua"
        for _, target in targets:
            writes.wrk(target, 2, lua, "warm")
        for number in range(args.rounds):
            turn = number % len(targets)
            for label, target in targets[turn:] + targets[:turn]:
                run = writes.wrk(target, args.seconds, lua, f"r{number}")
                acknowledged = run.acknowledged * target.per_request  # events
                if acknowledged != run.stored:
                    raise Failed(
                        f"{label}: {acknowledged} events acknowledged, {run.stored} stored"
                    )
                runs.setdefault(label, []).append(run)
                flush = run.writes
                print(
                    f"round {number + 1}  {label:12}  {10 * run.rps:7,.0f} events/s  "
                    f"server {run.server_us:5.0f} µs/batch  "
                    f"{run.acknowledged / max(1, flush.count):.1f} batches/flush  "
                    f"flush {flush.hold:.2f} ms",
                    flush=True,
                )
    print(
        "\n| version | events/s (median round) | rounds | server CPU a batch | batches a flush "
        "| flush p50 | acknowledged = stored |"
    )
    print("|---|---:|---|---:|---:|---:|---|")
    for label, measured in runs.items():
        middle = sorted(measured, key=lambda r: r.rps)[len(measured) // 2]
        rounds = ", ".join(f"{10 * r.rps:,.0f}" for r in measured)
        acknowledged = sum(r.acknowledged for r in measured) * writes.BATCH
        print(
            f"| {label} | {10 * statistics.median(r.rps for r in measured):,.0f} | {rounds} "
            f"| {statistics.median(r.server_us for r in measured):,.0f} µs "
            f"| {middle.acknowledged / max(1, middle.writes.count):.1f} "
            f"| {middle.writes.hold:.2f} ms | {acknowledged:,} = {acknowledged:,} |"
        )


if __name__ == "__main__":
    sys.exit(main())
