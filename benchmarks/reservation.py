"""How close the snippet's reserved height comes to the widget's, across widths and fonts.

    .venv/bin/python benchmarks/reservation.py [--no-save]

The snippet holds, before widget.js has run, the height src/vswidget/server/layout.py predicts for
the column's width band (src/vswidget/server/embed.py's RESERVE_WIDTHS). This script publishes a
few comparisons on `vswidget serve` (127.0.0.1), renders each in Chromium in columns of
several widths, with three host fonts (the widget takes the host page's font family), and
compares the height held with the height shown: over is blank space the widget gives back
unseen, under would move what follows. It saves benchmarks/results/reservation.json.
It needs Chromium and Playwright (as the browser tests do); it takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import harness
import record
import yaml
from harness import BIG, CHROMIUM, ROOT, host_site, vswidget_serve
from record import load_average

from vswidget import Client
from vswidget.schemas import load_comparison
from vswidget.server.embed import reserved_heights

COLUMNS = [288, 343, 382, 460, 640, 720, 1100]  # 288: a 320 px phone's column, 343: 375's
FONTS = {
    "system-ui": "DejaVu Sans here, the widest of the common ones",
    "sans-serif": "Liberation Sans, Arial's metrics",
    "Georgia, serif": "Liberation Serif here, Times's metrics",
}
EXAMPLES = ROOT / "examples" / "comparisons"


def comparisons() -> dict[str, dict[str, Any]]:
    """The comparisons measured, by a short name."""
    found = {
        "seed-shaped (2 items, 4 reviewers)": yaml.safe_load(
            (EXAMPLES / "whisper-vs-parakeet.yaml").read_text()
        ),
        "sqlite-vs-postgresql (2, 4)": yaml.safe_load(
            (EXAMPLES / "sqlite-vs-postgresql.yaml").read_text()
        ),
        "three generators (3, 2, a link)": json.loads(
            (EXAMPLES / "three-static-site-generators.json").read_text()
        ),
        "big (4 items, 12 reviewers)": yaml.safe_load(BIG.read_text()),
    }
    for document in found.values():
        document.pop("$schema", None)
    return found


def held(document: dict[str, Any], column: int) -> int:
    """The height the snippet reserves in a column: its band's."""
    bands = reserved_heights(load_comparison(document))
    return (
        next(h for w, h in reversed(bands) if w <= column) if column >= bands[0][0] else bands[0][1]
    )


def measure() -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    documents = comparisons()
    rows = []
    with tempfile.TemporaryDirectory() as temp, vswidget_serve(Path(temp)) as (server, key):
        with Client(server.base, key) as client:
            tokens = {name: client.publish(doc).token for name, doc in documents.items()}
        pages = {
            f"/{i}": (
                f"<!doctype html><body style='margin:0;font-family:{font}'>"
                + "".join(
                    f"<div style='width:{column}px'><div class=vswidget data-name='{name}' "
                    f"data-vswidget='{token}'></div></div>"
                    for name, token in tokens.items()
                    for column in COLUMNS
                )
                + f"<script async src='{server.base}/widget.js'></script></body>"
            ).encode()
            for i, font in enumerate(FONTS)
        }
        with host_site(pages) as site, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.add_init_script("delete window.IntersectionObserver")  # all load at once
            for i, font in enumerate(FONTS):
                page.goto(f"{site}/{i}")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('[data-vswidget]')]"
                    ".every(e => e.shadowRoot && e.shadowRoot.querySelector('section'))",
                    timeout=60_000,
                )
                shown = page.evaluate(
                    "() => [...document.querySelectorAll('[data-vswidget]')].map(e => "
                    "[e.dataset.name, e.getBoundingClientRect().width,"
                    " e.shadowRoot.querySelector('section').getBoundingClientRect().height])"
                )
                for name, column, height in shown:
                    reserved = held(documents[name], round(column))
                    rows.append(
                        {
                            "font": font,
                            "comparison": name,
                            "column": round(column),
                            "shown": round(height),
                            "held": reserved,
                        }
                    )
            browser.close()
    return rows


def tables(rows: list[dict[str, Any]]) -> dict[str, Any]:
    fonts = []
    for font, note in FONTS.items():
        mine = [r for r in rows if r["font"] == font]
        over = [(r["held"] - r["shown"]) / r["shown"] * 100 for r in mine]
        under = sum(1 for r in mine if r["held"] < r["shown"])
        fonts.append(
            [f"`{font}` ({note})", len(mine)]
            + [f"{x:+.1f} %" for x in (statistics.median(over), min(over), max(over))]
            + [under]
        )
    columns = [("host font", None), ("columns × comparisons", 0)]
    columns += [("held − shown, median", 0), ("min", 0), ("max", 0), ("under", 0)]
    found = {"fonts": record.table(columns, fonts)}
    names = list(dict.fromkeys(r["comparison"] for r in rows))
    columns = [("comparison", None), *((f"{c} px", 0) for c in COLUMNS)]
    found["columns"] = record.table(
        columns,
        [
            [name]
            + [
                f"{r['held']} / {r['shown']}"
                for r in rows
                if r["comparison"] == name and r["font"] == "system-ui"
            ]
            for name in names
        ],
    )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--save", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    loads_start = load_average()
    found = tables(measure())
    record.report("reservation", (loads_start, load_average()), found, args.save)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "reservation.py")
