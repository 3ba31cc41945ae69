"""Bundle widget/src into one minified script and one stylesheet, offline.

``widget/build`` runs this; tests import it to rebuild in memory and compare.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import rcssmin
import rjsmin

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
STATIC = HERE.parent / "src" / "vswidget" / "static"

# Concatenation order: each file uses only what the ones before it define.
SCRIPTS = ("format.js", "api.js", "render.js", "events.js", "wire.js", "main.js")
STYLESHEET = "widget.css"

BANNER = "/*! vswidget: built from widget/src by widget/build */\n"


def minify_css(css: str) -> str:
    """Return the stylesheet without comments and needless whitespace."""
    return str(rcssmin.cssmin(css)).strip()


def bundle_js(css: str, src: Path = SRC) -> str:
    """Return the script: every source file inside one IIFE, the stylesheet inlined as CSS."""
    parts = ["(function(){", f"const CSS={json.dumps(css)};"]
    parts += [(src / name).read_text(encoding="utf-8") for name in SCRIPTS]
    parts.append("})();")
    return BANNER + str(rjsmin.jsmin("\n".join(parts))).strip() + "\n"


def build(src: Path = SRC) -> dict[str, str]:
    """Return the built files by name: ``widget.js`` and ``widget.css``."""
    css = minify_css((src / STYLESHEET).read_text(encoding="utf-8"))
    return {"widget.js": bundle_js(css, src), "widget.css": css + "\n"}


def sizes(data: bytes) -> dict[str, int | None]:
    """Return raw, gzip -9 and brotli byte counts (brotli None when not installed)."""
    try:
        import brotli
    except ImportError:
        compressed = None
    else:
        compressed = len(brotli.compress(data, quality=11))
    return {"raw": len(data), "gzip": len(gzip.compress(data, 9, mtime=0)), "brotli": compressed}


def write(files: dict[str, str], out: Path = STATIC) -> None:
    """Write the built files into the server's static folder."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")


def stale(files: dict[str, str], out: Path = STATIC) -> list[str]:
    """Return the names of the built files whose committed copy differs."""
    return [
        name
        for name, text in files.items()
        if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != text
    ]


def report(files: dict[str, str]) -> str:
    """Return a few lines with the sizes of the bundle, the stylesheet and both together."""
    js = files["widget.js"].encode()
    css = files["widget.css"].encode()
    lines = []
    for label, data in (("widget.js", js), ("widget.css", css), ("js + css", js + css)):
        s = sizes(data)
        br = "n/a (pip install brotli)" if s["brotli"] is None else f"{s['brotli']:,} B"
        lines.append(f"{label:<11} raw {s['raw']:>6,} B   gzip -9 {s['gzip']:>6,} B   brotli {br}")
    return "\n".join(lines)
