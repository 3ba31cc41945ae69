"""Every example runs as written, against what `make run` serves.

The ```sh, ```console and ```python blocks of the README, docs/quickstart.md,
docs/cli.md and docs/sdk.md run in order, one page at a time, in a folder of their
own holding `examples/` and `.venv`, against a fresh `vswidget serve --demo` on
127.0.0.1 with the instance folder every command shares (as the docs ask). The docs'
server, http://127.0.0.1:8000, is read as that server's address; the venv is on PATH,
as after `. .venv/bin/activate`. What a block exports, the blocks after it see.

- ```sh: a script that must succeed (run with `set -e -o pipefail`).
- ```console: a transcript; each `$ ` line runs. A command the page shows answering
  an `Error:` line must fail; every other one must succeed.
- ```python: a script of its own, as pasted into a file: blocks share no names. A
  block of `>>>` lines is a doctest, its answers checked.
- `<!-- not run: REASON -->` on the line just before a block leaves it out, for that
  reason: for the server itself, installs, and what asks at the terminal.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from live import VSWIDGET, free_port, wait_until_healthy

ROOT = Path(__file__).parent.parent
PAGES = ["README.md", "docs/quickstart.md", "docs/cli.md", "docs/sdk.md"]
DOCS_SERVER = "http://127.0.0.1:8000"
VENV_BIN = Path(sys.executable).parent
BLOCK = re.compile(
    r"^(?:<!-- not run: (?P<reason>[^\n]+?) -->\n)?```(?P<language>\w*)\n(?P<text>.*?)^```$",
    re.S | re.M,
)
RUNNABLE = {"sh", "console", "python"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    text: str
    not_run: str | None  # the reason it is not run

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """The runnable blocks of a page, in order."""
    text = (ROOT / page).read_text()
    found = []
    for match in BLOCK.finditer(text):
        if match["language"] in RUNNABLE:
            line = text.count("\n", 0, match.start("language")) + 1
            found.append(Block(page, line, match["language"], match["text"], match["reason"]))
    return found


EXPECT = """
expect() {  # expect STATUS ok|error WHERE: check a console command, keep its $?
  if [ "$2" = ok ] && [ "$1" -ne 0 ]; then echo "FAILED $3: exit $1" >&2; exit 1; fi
  if [ "$2" = error ] && [ "$1" -eq 0 ]; then echo "FAILED $3: no error" >&2; exit 1; fi
  return "$1"
}
"""


def script(page: str, scripts: Path, base: str) -> str:
    """One bash script running every block of ``page`` in order, failing at the first."""
    lines = ["set -o pipefail", EXPECT]
    for block in blocks(page):
        if block.not_run:
            continue
        text = block.text.replace(DOCS_SERVER, base)
        lines.append(f"echo '## {block.where}' >&2")
        if block.language == "sh":
            lines += ["set -e", text, "set +e"]
        elif block.language == "python":
            doctest = text.lstrip().startswith(">>>")
            file = (
                scripts
                / f"{block.page.replace('/', '-')}-{block.line}.{'txt' if doctest else 'py'}"
            )
            file.write_text(text)
            lines.append(f"python {'-m doctest ' if doctest else ''}{file} || exit 1")
        else:
            lines += console(block, text)
    return "\n".join(lines) + "\n"


def console(block: Block, text: str) -> list[str]:
    """Each `$ ` command of a transcript, checked for the outcome the page shows."""
    lines = []
    rows = text.splitlines()
    for number, row in enumerate(rows):
        if not row.startswith("$ "):
            continue
        answer = []
        for following in rows[number + 1 :]:
            if following.startswith("$ "):
                break
            answer.append(following)
        outcome = "error" if any(shown.startswith("Error:") for shown in answer) else "ok"
        where = f"{block.where}: {row}".replace("'", "")
        lines += [row[2:], f"expect $? {outcome} '{where}'"]
    return lines


@dataclass(frozen=True)
class Reader:
    """A reader's folder and environment beside a server of its own."""

    folder: Path
    env: dict[str, str]
    base: str


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    """`vswidget serve --demo`, as `make run` starts it, and a folder to follow the docs in."""
    folder = tmp_path / "clone"
    folder.mkdir()
    shutil.copytree(ROOT / "examples", folder / "examples")
    (folder / ".venv").symlink_to(VENV_BIN.parent)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("VSWIDGET_")}
    env |= {
        "VSWIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "HOME": str(tmp_path),
        "PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [VSWIDGET, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(base)
        yield Reader(folder, env, base)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def run_bash(reader: Reader, text: str) -> subprocess.CompletedProcess[str]:
    file = reader.folder.parent / "blocks.sh"
    file.write_text(text)
    return subprocess.run(
        ["bash", str(file)],
        cwd=reader.folder,
        env=reader.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("page", PAGES)
def test_every_block_of_the_page_runs_as_written(reader: Reader, page: str) -> None:
    scripts = reader.folder.parent / "scripts"
    scripts.mkdir()
    done = run_bash(reader, script(page, scripts, reader.base))
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_every_example_script_publishes_against_the_server(reader: Reader) -> None:
    key = subprocess.run(
        [VSWIDGET, "publisher", "create", "acme"],
        env=reader.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    settings = {"VSWIDGET_URL": reader.base, "VSWIDGET_API_KEY": key}
    for example in sorted((ROOT / "examples").glob("*.py")):
        done = subprocess.run(
            [sys.executable, str(example)],
            cwd=reader.folder,
            env=reader.env | settings,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert 'data-vswidget="' in done.stdout


def scripts_reading_the_key() -> list[object]:
    """Every Python example that needs an API key, named by where it is."""
    found = [
        pytest.param(block.text, id=block.where)
        for page in PAGES
        for block in blocks(page)
        if block.language == "python" and "VSWIDGET_API_KEY" in block.text
    ]
    found += [
        pytest.param(path.read_text(), id=f"examples/{path.name}")
        for path in sorted((ROOT / "examples").glob("*.py"))
    ]
    return found


@pytest.mark.parametrize("code", scripts_reading_the_key())
def test_an_example_without_its_settings_says_so_in_one_sentence(tmp_path: Path, code: str) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {key: value for key, value in os.environ.items() if not key.startswith("VSWIDGET_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "VSWIDGET_API_KEY" in done.stderr


def test_blocks_left_out_say_why() -> None:
    left_out = [block for page in PAGES for block in blocks(page) if block.not_run]
    assert all(len(block.not_run or "") > 10 for block in left_out)
    assert len(left_out) <= 8  # sparingly: the server, installs, the terminal's questions
