"""Where a warm payload read spends its time, and what a change in src/ would gain.

    .venv/bin/python benchmarks/profile_payload.py [--seconds N] [--quick]

1. served: for each variant of benchmarks/embed_app.py (as-is, get-filter, no-limiter,
   fast-path), a gunicorn with embed.py's settings serves it on 127.0.0.1 and wrk measures
   the baseline, the warm payload and the 304 in rounds, with embed.py's method (ratio to the
   baseline of the same server, server CPU per request, others' CPU);
2. in process: the same WSGI apps called directly (no server, no socket), microseconds per
   call, and a cProfile of the as-is warm read grouped by the code it runs;
3. prints the tables and writes them into docs/performance.md (full runs only, unless --docs)
   under "Embed: where a warm payload read spends its time".

Needs wrk, like embed.py. Every process it starts is stopped, every temporary folder deleted.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import os
import pstats
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import embed
from embed import CPUS, ROOT, Failed, Patience, Target, cpu_model

SECTION = "## Embed: where a warm payload read spends its time"
VARIANT_HELP = {
    "as-is": "vswidget as shipped",
    "get-filter": "Flask-Limiter `request_filter` skipping GET, HEAD, OPTIONS",
    "no-limiter": "Flask-Limiter's app-wide hooks removed (cost of the hooks)",
    "fast-path": "cache hits answered by a WSGI layer before Flask",
}


def served(args: argparse.Namespace, temp: Path, key: str) -> list[str]:
    """Measure every variant under gunicorn with wrk; return the table's lines."""
    from embed_app import VARIANTS
    from embed_data import big

    from vswidget import Client

    lua = temp / "report.lua"
    lua.write_text(embed.REPORT_LUA)
    patience = Patience(args.quiet, args.max_wait, args.wait_budget, args.retries)
    lines = [
        "| variant | baseline req/s | payload req/s | payload / baseline | 304 / baseline | "
        "server CPU µs/req: baseline, payload, 304 | others % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    token = ""
    for variant in VARIANTS:
        env = embed.clean_env(temp / "instance", EMBED_BENCH_VARIANT=variant)
        with embed.gunicorn(variant, env, temp) as server:
            if not token:
                with Client(server.base, key) as client:
                    token = client.publish(big()).token
            url = f"{server.base}/v1/payload/{token}"
            status, headers, _ = embed.fetch(url)
            if status != 200:
                raise Failed(f"{variant}: GET {url} answered {status}")
            targets = [
                Target("baseline", "baseline", f"{server.base}/baseline/ping"),
                Target("payload", f"{variant}: warm payload", url, baseline="baseline"),
                Target("304", f"{variant}: 304", url, 304, "baseline", headers["ETag"]),
            ]
            for target in targets:
                target.server = server
            print(f"-- {variant}: {VARIANT_HELP[variant]}", flush=True)
            runs = embed.measure(targets, args.rounds, args.seconds, lua, patience)
        median = {t.key: embed.median_run(runs[t.key]) for t in targets}
        ratio = {t.key: statistics.median(embed.ratios(runs, t)) for t in targets[1:]}
        others = statistics.median(r.others for t in targets for r in runs[t.key])
        lines.append(
            f"| {variant}: {VARIANT_HELP[variant]} | {median['baseline'].rps:,.0f} | "
            f"{median['payload'].rps:,.0f} | **{ratio['payload']:.2f}** | {ratio['304']:.2f} | "
            + ", ".join(f"{median[k].server_us:.0f}" for k in ("baseline", "payload", "304"))
            + f" | {others:.0f} |"
        )
    return lines


Environ = dict[str, Any]


def environ(path: str, headers: dict[str, str] | None = None) -> Environ:
    from werkzeug.test import EnvironBuilder

    return EnvironBuilder(
        path=path, base_url=f"http://{embed.HOST}:8000", headers=headers
    ).get_environ()


def call(app: Callable[..., Iterable[bytes]], env: Environ) -> str:
    """Call a WSGI app as a server would, reading the whole body; return the status."""
    status: list[str] = []
    body = app(dict(env), lambda s, h, e=None: status.append(s))
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close:
        close()
    return status[0]


def in_process(args: argparse.Namespace, key: str) -> tuple[list[str], list[str]]:
    """Time the WSGI apps called directly; profile the as-is warm read."""
    import httpx
    from embed_app import VARIANTS, baseline_app, vary
    from embed_data import big
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from vswidget import Client, create_app

    # create_app(), not product_app(): the webhook thread beside it is off the request path.
    def build(variant: str) -> Callable[..., Iterable[bytes]]:
        return DispatcherMiddleware(vary(create_app(), variant), {"/baseline": baseline_app()})

    # get-filter adds its filter to the one global limiter: built and timed after the rest.
    apps = {variant: build(variant) for variant in VARIANTS if variant != "get-filter"}
    with Client(
        f"http://{embed.HOST}:8000", key, transport=httpx.WSGITransport(app=apps["as-is"])
    ) as c:
        token = c.publish(big()).token  # the same instance: an update, the token stays
    size = len(b"".join(apps["as-is"](environ(f"/v1/payload/{token}"), lambda *a: None)))
    cases = {
        "baseline": ("baseline (minimal Flask JSON)", environ("/baseline/ping"), "200 OK"),
        "blob": ("baseline, payload-sized body", environ(f"/baseline/blob?n={size}"), "200 OK"),
        "payload": ("warm payload", environ(f"/v1/payload/{token}"), "200 OK"),
        "304": ("304 (If-None-Match)", {}, "304 NOT MODIFIED"),  # the ETag of each app's copy
    }
    etags = {}

    def conditional(variant: str, app: Callable[..., Iterable[bytes]]) -> Environ:
        if variant not in etags:
            seen: list[list[tuple[str, str]]] = []
            app(environ(f"/v1/payload/{token}"), lambda s, h, e=None: seen.append(h))
            etags[variant] = environ(
                f"/v1/payload/{token}", {"If-None-Match": dict(seen[0])["ETag"]}
            )
        return etags[variant]

    calls, reps = (1000, 3) if args.quick else (3000, 5)
    timings: dict[tuple[str, str], list[float]] = {}

    def time_calls(apps: dict[str, Callable[..., Iterable[bytes]]]) -> None:
        for variant, app in apps.items():  # warm every cache and code path
            for name, (_, env, _) in cases.items():
                call(app, conditional(variant, app) if name == "304" else env)
        for _ in range(reps):
            for variant, app in apps.items():
                for name, (_, env, expected) in cases.items():
                    if variant != "as-is" and name.startswith(("baseline", "blob")):
                        continue
                    env = conditional(variant, app) if name == "304" else env
                    started = time.perf_counter()
                    for _ in range(calls):
                        status = call(app, env)
                    elapsed = time.perf_counter() - started
                    if status != expected:
                        raise Failed(f"{variant} {name}: {status}, not {expected}")
                    timings.setdefault((variant, name), []).append(1e6 * elapsed / calls)

    time_calls(apps)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        call(apps["as-is"], cases["payload"][1])
    profile.disable()
    if "get-filter" in VARIANTS:
        apps["get-filter"] = build("get-filter")
        time_calls({"get-filter": apps["get-filter"]})
    best = {k: min(v) for k, v in timings.items()}
    base = best[("as-is", "baseline")]
    table = [
        f"| call | µs per call (best of {reps} × {calls}) | ratio to baseline (baseline µs / µs) |",
        "|---|---:|---:|",
    ]
    for variant in apps:
        for name, (label, _, _) in cases.items():
            if (variant, name) in best:
                prefix = "" if variant == "as-is" or name.startswith("b") else f"{variant}: "
                us = best[(variant, name)]
                table.append(f"| {prefix}{label} | {us:.0f} | {base / us:.2f} |")

    return table, profile_lines(pstats.Stats(profile), calls)


GROUPS = (
    ("flask_limiter", "Flask-Limiter (its before/after/teardown hooks; limits)"),
    ("/limits/", "Flask-Limiter (its before/after/teardown hooks; limits)"),
    ("/werkzeug/", "werkzeug (routing, headers, Response, conditional)"),
    ("/flask/", "Flask (request context, dispatch, hooks)"),
    ("/flask_caching/", "Flask-Caching and pickle (the cache read)"),
    ("/vswidget/", "vswidget's own code (views, headers, payloads)"),
)
PHASES = (
    ("flask_limiter/_extension.py", "_check_request_limit", "Flask-Limiter before_request"),
    ("flask_limiter/_extension.py", "__inject_headers", "Flask-Limiter after_request"),
    ("flask/app.py", "request_context", "request context: Request, URL adapter"),
    ("flask/ctx.py", "push", "request context push: URL routing"),
    ("vswidget/views/public.py", "payload", "the view: cache read, Response, cacheable()"),
    ("vswidget/headers.py", "cacheable", "… cacheable(): set_etag, make_conditional"),
    ("vswidget/headers.py", "secure", "after_request: security headers"),
    ("werkzeug/wrappers/response.py", "__call__", "Response to WSGI: headers, body"),
    ("flask/ctx.py", "pop", "request context pop: teardown"),
)


def profile_lines(stats: pstats.Stats, calls: int) -> list[str]:
    """Group a profile's own time by library, and give the main phases' inclusive share."""
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in entries.values())
    groups: dict[str, float] = {}
    for (filename, _, _), (_, _, tt, _, _) in entries.items():
        name = next(
            (label for marker, label in GROUPS if marker in filename),
            "Python's standard library and the rest",
        )
        groups[name] = groups.get(name, 0.0) + tt
    lines = [
        f"cProfile of {calls} as-is warm payload calls (the profiler inflates code that makes "
        "many small calls, so read shares, not times):",
        "",
        "| own time in | share |",
        "|---|---:|",
    ]
    for name, tt in sorted(groups.items(), key=lambda x: -x[1]):
        lines.append(f"| {name} | {100 * tt / total:.0f} % |")
    lines += ["", "| phase (inclusive) | share |", "|---|---:|"]
    for suffix, function, label in PHASES:
        found = [
            ct
            for (filename, _, name), (_, _, _, ct, _) in entries.items()
            if filename.endswith(suffix) and name.endswith(function)
        ]
        if found:
            lines.append(f"| {label} | {100 * max(found) / total:.0f} % |")
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="seconds per wrk measurement (5)")
    parser.add_argument("--quick", action="store_true", help="2 s measurements, fewer calls")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per variant (3)")
    parser.add_argument("--quiet", type=float, default=15, help="see embed.py (15)")
    parser.add_argument("--max-wait", type=float, default=30, help="see embed.py (30)")
    parser.add_argument("--wait-budget", type=float, default=600, help="see embed.py (600)")
    parser.add_argument("--retries", type=int, default=2, help="see embed.py (2)")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        help="write docs/performance.md (default: on for full runs, off with --quick)",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.docs = (not args.quick) if args.docs is None else args.docs
    if not (0.5 <= args.seconds <= 60 and 1 <= args.rounds <= 10 and 0 <= args.retries <= 5):
        parser.error("use 0.5..60 seconds, 1..10 rounds and 0..5 retries")
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install -y wrk`.", file=sys.stderr)
        return 2
    embed.stop_on_sigterm()
    with ExitStack() as stack:
        temp = Path(tempfile.mkdtemp(prefix="vswidget-profile-"))
        stack.callback(shutil.rmtree, temp, ignore_errors=True)
        env = embed.clean_env(temp / "instance")
        embed.vswidget_cli(env, "db", "upgrade")
        key = embed.vswidget_cli(env, "publisher", "create", "bench").strip().splitlines()[-1]
        served_lines = served(args, temp, key)
        os.environ.update(env)  # the in-process apps use the same instance folder
        for name in [n for n in os.environ if n.startswith("VSWIDGET_")]:
            if name not in env:
                del os.environ[name]
        calls_lines, profile = in_process(args, key)

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = ".venv/bin/python benchmarks/profile_payload.py" + "".join(
        " " + shlex.quote(a) for a in sys.argv[1:]
    )
    section = "\n".join(
        [
            SECTION,
            "",
            f"Measured {now} by `benchmarks/profile_payload.py`; reproduce with `{command}`. "
            f"Machine: `nproc` {CPUS}, {cpu_model()}; code: {embed.code_version()}.",
            "",
            "Served: each variant of `benchmarks/embed_app.py` under gunicorn with the settings "
            f"above, wrk as above, {args.seconds:g} s per measurement, {args.rounds} rounds; "
            "the ratios are to the minimal Flask baseline served by the same workers. The "
            "variants change vswidget's app in the benchmark process only, to show what a "
            "change in src/ would gain.",
            "",
            *served_lines,
            "",
            "In process: the same WSGI apps called directly, without a server or a socket, so "
            "only the Python of the request counts.",
            "",
            *calls_lines,
            "",
            *profile,
        ]
    )
    print("\n" + section)
    if args.docs:
        embed.write_doc(section + "\n", SECTION)
        print(f"written to {embed.DOC.relative_to(ROOT)}")
    else:
        print("(docs/performance.md not updated: pass --docs to write a quick run)")
    return 0


if __name__ == "__main__":
    embed.run_main(main, "profile_payload.py")
