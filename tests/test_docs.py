"""Every setting, command and endpoint is documented; no example faces readers without a proxy."""

from __future__ import annotations

import re
from pathlib import Path

import click

from vswidget.cli import main
from vswidget.server import create_app
from vswidget.server.config import SETTINGS
from vswidget.server.serving import bare_public_bind_warning

DOCS = Path(__file__).parent.parent / "docs"


def docs_text() -> str:
    return "\n".join(page.read_text() for page in DOCS.glob("*.md"))


def test_every_setting_is_documented() -> None:
    text = docs_text()
    missing = [s.name for s in SETTINGS if f"VSWIDGET_{s.name}" not in text]
    assert missing == []


def command_paths(group: click.Group, prefix: str = "vswidget") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = [path for path in command_paths(main) if path not in text]
    assert missing == []


def test_every_endpoint_is_documented() -> None:
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEYS": ["k" * 32]})
    text = docs_text()
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: m[1].upper(), rule.rule)
        if path not in text:
            missing.append(rule.rule)
    assert missing == []


def examples(text: str) -> list[str]:
    """The fenced code blocks and inline code spans of a Markdown page."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    outside = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return blocks + re.findall(r"`([^`\n]+)`", outside)


def test_no_doc_shows_a_public_bind_without_a_reverse_proxy() -> None:
    bare = []
    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        for example in examples(page.read_text()):
            proxies = re.search(r"VSWIDGET_TRUSTED_PROXIES=(\d+)", example)
            for host in re.findall(r"vswidget serve\b[^\n]*?--host[ =](\S+)", example):
                if bare_public_bind_warning(host, int(proxies[1]) if proxies else 0):
                    bare.append(f"{page.name}: vswidget serve --host {host}")
    assert bare == []
