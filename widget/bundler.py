"""Bundle widget/src into one minified script and one stylesheet.

``widget/build`` runs this. The script is minified by terser (an npm package, installed in
widget/node_modules by ``npm ci --prefix widget``), a build-time tool only: the tests import
this module to check the committed files against ``built.json`` with Python alone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import rcssmin

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
STATIC = HERE.parent / "src" / "vswidget" / "server" / "static"
LOCK = HERE / "package-lock.json"
TERSER = HERE / "node_modules" / "terser" / "bin" / "terser"
# What the last build was made from and what it wrote: checked by tests/test_widget_bundle.py.
MANIFEST = HERE / "built.json"

# Each script's sources, in concatenation order: each file uses only what the ones before it
# define. widget.js is what a host page loads (the stylesheet inside); page.js wires the
# server's own pages, which render the markup and link the stylesheet themselves.
SCRIPTS = {
    "widget.js": ("format.js", "api.js", "render.js", "events.js", "wire.js", "main.js"),
    "page.js": ("format.js", "api.js", "events.js", "wire.js", "page.js"),
}
SOURCES = sorted({name for names in SCRIPTS.values() for name in names})
STYLESHEET = "widget.css"
BUILT = ("widget.js", "page.js", "widget.css")  # what a build writes into STATIC

BANNER = "/*! vswidget: built from widget/src by widget/build */\n"
# terser compresses and shortens every local name, but these two: the stylesheet stays
# `const CSS=...` and the host's stub stays `prev`, so that a reader of the file finds them.
TERSER_OPTIONS = ("--compress", "--mangle", "reserved=[CSS,prev]", "--format", "quote_style=2")


class BuildError(Exception):
    """The build cannot run here: a tool is missing or failed."""


def minify_css(css: str) -> str:
    """Return the stylesheet without comments and needless whitespace."""
    return str(rcssmin.cssmin(css)).strip()


def bundle_source(names: tuple[str, ...], css: str | None = None, src: Path = SRC) -> str:
    """Return a script before minifying: its source files inside one IIFE, and the
    stylesheet inlined as CSS when given."""
    parts = ["(function(){"] + ([f"const CSS={json.dumps(css)};"] if css is not None else [])
    parts += [(src / name).read_text(encoding="utf-8") for name in names]
    parts.append("})();")
    return "\n".join(parts)


def minify_js(source: str) -> str:
    """Return the script as terser minifies it."""
    node = shutil.which("node")
    if node is None or not TERSER.exists():
        raise BuildError("terser is not installed: run npm ci --prefix widget (needs Node.js)")
    done = subprocess.run(
        [node, str(TERSER), *TERSER_OPTIONS],
        input=source,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(f"terser failed: {done.stderr.strip()}")
    return done.stdout.strip()


def build(src: Path = SRC) -> dict[str, str]:
    """Return the built files by name: ``widget.js``, ``page.js`` and ``widget.css``."""
    css = minify_css((src / STYLESHEET).read_text(encoding="utf-8"))
    return {
        "widget.js": BANNER + minify_js(bundle_source(SCRIPTS["widget.js"], css, src)) + "\n",
        "page.js": BANNER + minify_js(bundle_source(SCRIPTS["page.js"], None, src)) + "\n",
        "widget.css": css + "\n",
    }


def sources_digest() -> str:
    """Return the SHA-256 of what a build depends on: the sources, this module (the build's
    logic) and package-lock.json (terser's version)."""
    digest = hashlib.sha256()
    for path in [*(SRC / name for name in SOURCES), SRC / STYLESHEET, Path(__file__), LOCK]:
        digest.update(f"{path.name}\0{len(path.read_bytes())}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def manifest(files: dict[str, str]) -> dict[str, str]:
    """Return what built.json records: the sources' digest and each built file's SHA-256."""
    record = {"sources": sources_digest()}
    for name, text in sorted(files.items()):
        record[name] = hashlib.sha256(text.encode()).hexdigest()
    return record


def write(files: dict[str, str], out: Path = STATIC, record: Path = MANIFEST) -> None:
    """Write the built files into the server's static folder, and what was built to record."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")
    record.write_text(json.dumps(manifest(files), indent=2) + "\n", encoding="utf-8")


def stale(out: Path = STATIC, record: Path = MANIFEST) -> list[str]:
    """Return what is out of date, without building: both files when the sources changed since
    the build that record describes, else each file that is not what that build wrote."""
    if not record.exists():
        return [record.name]
    built = json.loads(record.read_text(encoding="utf-8"))
    if built.get("sources") != sources_digest():
        return list(BUILT)
    return [
        name
        for name in BUILT
        if not (out / name).exists()
        or hashlib.sha256((out / name).read_bytes()).hexdigest() != built.get(name)
    ]


def read(out: Path = STATIC) -> dict[str, str]:
    """Return the built files as they are in out."""
    return {name: (out / name).read_text(encoding="utf-8") for name in BUILT}


def sizes(data: bytes) -> dict[str, int | None]:
    """Return raw, gzip -6 and brotli byte counts (brotli None when not installed)."""
    try:
        import brotli
    except ImportError:
        compressed = None
    else:
        compressed = len(brotli.compress(data, quality=11))
    return {"raw": len(data), "gzip": len(gzip.compress(data, 6, mtime=0)), "brotli": compressed}


def report(files: dict[str, str]) -> str:
    """Return a line each for the scripts (widget.js has the stylesheet inside) and the
    stylesheet alone."""
    lines = []
    for name in BUILT:
        s = sizes(files[name].encode())
        br = "n/a (pip install brotli)" if s["brotli"] is None else f"{s['brotli']:,} B"
        lines.append(f"{name:<11} raw {s['raw']:>6,} B   gzip -6 {s['gzip']:>6,} B   brotli {br}")
    return "\n".join(lines)
