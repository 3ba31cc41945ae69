"""Put the tables of benchmarks/results/*.json into the docs, between their markers.

    .venv/bin/python benchmarks/render.py [--check]

A doc asks for a result's table with two lines, `<!-- bench:NAME:TABLE -->` and
`<!-- /bench:NAME:TABLE -->`, and for the line that says when and how NAME was measured with
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. Everything between a pair is replaced;
every other line of the doc, the prose written by hand, is left as it is. With --check,
nothing is written, and the exit status is 1 when a doc is not up to date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
MARKED = re.compile(r"(<!-- bench:(\S+) -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)


def cell(value: Any, decimals: int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) or decimals is None:
        return str(value)
    return f"{value:,.{decimals}f}"


def markdown(table: dict[str, Any]) -> str:
    columns = table["columns"]
    lines = [
        "| " + " | ".join(name for name, _ in columns) + " |",
        "|" + "".join("---|" if d is None else "---:|" for _, d in columns),
    ]
    for row in table["rows"]:
        cells = (cell(v, d) for v, (_, d) in zip(row, columns, strict=True))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def measured(name: str, result: dict[str, Any]) -> str:
    m = result["machine"]
    loads = " at the start, ".join(m["load_average"]) + " at the end"
    return (
        f"Measured {result['measured']} by `benchmarks/{name}.py` (`{result['command']}`), "
        f"{result['code']}; machine: `nproc` {m['cpus']}, {m['cpu']}, Linux {m['linux']}, "
        f"Python {m['python']}, load average {loads}.\n"
    )


def blocks(results: Path) -> dict[str, str]:
    """Return the text of every marker the saved results can fill, by its name."""
    found = {}
    for path in sorted(results.glob("*.json")):
        result = json.loads(path.read_text())
        found[path.stem] = measured(path.stem, result)
        for key, table in result.get("tables", {}).items():
            found[f"{path.stem}:{key}"] = markdown(table)
    return found


def rendered(text: str, known: dict[str, str], unknown: set[str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in known:
            unknown.add(name)
            return match.group(0)
        return match.group(1) + known[name] + match.group(4)

    return MARKED.sub(fill, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; 1 if out of date")
    args = parser.parse_args()
    known, unknown, stale = blocks(HERE / "results"), set[str](), []
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text()
        new = rendered(text, known, unknown)
        if new != text:
            stale.append(doc.name)
            if not args.check:
                doc.write_text(new)
    for name in sorted(unknown):
        print(f"no saved result fills <!-- bench:{name} -->", file=sys.stderr)
    verb = "out of date" if args.check else "rendered"
    print(f"{verb}: {', '.join(stale) or 'nothing'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
