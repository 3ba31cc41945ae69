"""A real server, a host site on another origin, and headless Chromium.

The vswidget server runs the way production runs it: ``vswidget serve`` (gunicorn)
as a subprocess on a free 127.0.0.1 port, with its own instance folder. A second,
static server on another port plays the blog that embeds the widget, so every
widget runs cross-origin. Host pages are templates in ``pages/``: ``$server``,
``$snippet_NAME``, ``$token_NAME``... are filled in at run time.

The server drops events from "HeadlessChrome" as a bot's: tests that need their events
stored use ``human_browser`` (``new_human_tab``), launched with a desktop Chrome's user agent.
Its background job rolls events up every ``ROLLUP_SECONDS``, so the dashboard shows them soon.

Browser tests skip when Playwright or /usr/bin/chromium is missing; under CI=true
they fail instead, because CI must run them.
"""

from __future__ import annotations

import functools
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEAP_PASSWORD_HASH, DOCUMENT, PASSWORD
from live import free_port

from vswidget import Client, Comparison
from vswidget.client import Published

from .helpers import (
    HANDLE,
    HUMAN_USER_AGENT,
    OLLAMA,
    WAIT,
    XSS,
    Host,
    Server,
    Tab,
    log_in,
    unavailable,
    wait_answering,
)
from .reading import publish, read_as_a_reader

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every test reads from 127.0.0.1: the default limits per address would refuse votes midway.
GENEROUS_LIMITS = {
    "VSWIDGET_VOTE_RATE_LIMIT": "100000/minute",
    "VSWIDGET_SIGNUP_RATE_LIMIT": "100000/minute",
    "VSWIDGET_EVENT_RATE_LIMIT": "100000/minute",
}
# The server rolls events up for the dashboard this often (its default is a minute).
ROLLUP_SECONDS = 1
START_TIMEOUT = 30  # seconds for gunicorn to answer /healthz

# -- what is published ---------------------------------------------------------

KETTLE = DOCUMENT  # the comparison every other test publishes too
# Shaped like the seed comparison page: two items, four reviewers with long quotes, a newsletter.
SEED = Path(__file__).parents[2] / "examples" / "comparisons" / "whisper-vs-parakeet.yaml"


def largest() -> dict[str, Any]:
    """The largest comparison the schema allows in its lists: 4 items, 12 reviewers, every
    quote 2,000 characters; names, taglines and prices long, and one word longer than a
    phone's line."""
    sentence = (
        "Weighed over a month of daily use, against the cost of running it and the hour it "
        "takes a newcomer to get going, the verdict held up better than expected. "
    )
    quote = (sentence * 20)[:2000]
    items = [
        {
            "key": f"tool-{n}",
            "name": f"The {word} Tool, Edition {n}",
            "category": "Developer Tools",
            "tagline": "A tagline of some ninety characters: what the tool does, and for whom.",
            "description": (sentence * 14)[:2000],
            "price": "Free; teams from $20 a month",
            "url": f"https://example.com/tool-{n}",
        }
        for n, word in enumerate(["First", "Second", "Third", "Fourth"], start=1)
    ]
    items[0]["tagline"] = "Supercalifragilisticexpialidocious-and-then-some " + items[0]["tagline"]
    panel = [
        {
            "name": f"Reviewer number {r}",
            "lens": "The angle this reviewer judges every tool from",
            "verdicts": {
                item["key"]: {"verdict": "ship" if (r + i) % 3 else "skip", "quote": quote}
                for i, item in enumerate(items)
            },
        }
        for r in range(1, 13)
    ]
    return {
        "slug": "largest-allowed",
        "kicker": "Four tools, twelve reviewers",
        "title": "First vs Second vs Third vs Fourth: the longest comparison we allow",
        "question": "Which of the four would you put in front of a team of ten?",
        "items": items,
        "panel": panel,
        "cta": {"kind": "newsletter", "headline": "Weekly comparisons", "text": "One a week."},
    }


# -- the vswidget server -------------------------------------------------------


def forged(token: str) -> str:
    """An embed token whose signature was edited: the server must refuse it."""
    head, _, signature = token.rpartition(".")
    return f"{head}.{'A' * len(signature) if signature[:1] != 'A' else 'B' * len(signature)}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``vswidget serve`` under gunicorn on 127.0.0.1, three comparisons published."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSWIDGET_")} | {
        "VSWIDGET_INSTANCE_PATH": str(folder / "instance"),
        "VSWIDGET_SECRET_KEYS": "browser-test-key-of-at-least-32-bytes",
        "VSWIDGET_PUBLIC_URL": base,
        "VSWIDGET_PASSWORD_HASH": CHEAP_PASSWORD_HASH,
        "VSWIDGET_ROLLUP_SECONDS": str(ROLLUP_SECONDS),
        **GENEROUS_LIMITS,
    }
    vswidget = str(Path(sys.executable).with_name("vswidget"))
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [vswidget, "serve", "--host", "127.0.0.1", "--port", str(port)]
            + ["--workers", "1", "--threads", "4"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_answering(f"{base}/healthz", process, log_path, "vswidget serve", START_TIMEOUT)
        created = subprocess.run(
            [vswidget, "publisher", "create", HANDLE],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip().splitlines()[-1]
        with Client(base, key) as client:
            published = {
                "ollama": client.publish(OLLAMA),
                "kettle": client.publish(KETTLE),
                "xss": client.publish(XSS),
                "seed": client.publish(Comparison.from_file(SEED)),
                "largest": client.publish(largest()),
            }
        yield Server(
            base=base,
            key=key,
            published=published,
            bad_token=forged(published["ollama"].token),
            closed_port=free_port(),
            instance=folder / "instance",
            env=env,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- the host site ---------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="session")
def host(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    folder = tmp_path_factory.mktemp("host")
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Host(f"http://127.0.0.1:{httpd.server_port}", folder, server.values())
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


# -- the browser -----------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright's sync API, started once; skips when it or /usr/bin/chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    playwright = sync_playwright().start()
    try:
        yield playwright
    finally:
        playwright.stop()


def _chromium(playwright: Any, *args: str) -> Any:
    """Launch Debian's headless Chromium; no browser is downloaded."""
    from playwright.sync_api import Error

    try:
        return playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS + list(args),
            timeout=30_000,
        )
    except Error as error:
        unavailable(f"{CHROMIUM} does not start: {error}")


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; no browser is downloaded."""
    chromium = _chromium(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def human_browser(playwright: Any) -> Iterator[Any]:
    """Headless Chromium that says it is a desktop Chrome: the server counts its events."""
    chromium = _chromium(playwright, f"--user-agent={HUMAN_USER_AGENT}")
    yield chromium
    chromium.close()


def _tabs(browser: Any) -> Iterator[Callable[..., Tab]]:
    contexts: list[Any] = []

    def open_tab(**options: Any) -> Tab:
        context = browser.new_context(**({"viewport": {"width": 1280, "height": 800}} | options))
        contexts.append(context)
        return Tab(context.new_page())

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture
def new_tab(browser: Any) -> Iterator[Callable[..., Tab]]:
    """Open tabs, each in its own browser context (no shared cache or storage)."""
    yield from _tabs(browser)


@pytest.fixture
def new_human_tab(human_browser: Any) -> Iterator[Callable[..., Tab]]:
    """Like ``new_tab``, in the browser whose events the server keeps (not a bot's)."""
    yield from _tabs(human_browser)


@pytest.fixture
def tab(new_tab: Callable[..., Tab]) -> Tab:
    return new_tab()


# -- the site owner --------------------------------------------------------------------


@pytest.fixture(scope="module")
def password(server: Server) -> str:
    """The test publisher's dashboard password, set as whoever runs the server sets it."""
    done = server.cli("publisher", "password", HANDLE, "--password", PASSWORD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Password set for '{HANDLE}': log in at /dashboard/login."
    return PASSWORD


@pytest.fixture(scope="module")
def signed_in(server: Server, browser: Any, password: str) -> dict[str, Any]:
    """The browser state (the session cookie) of a site owner who logged in with the form."""
    context = browser.new_context()
    try:
        log_in(Tab(context.new_page()), server, password)
        return context.storage_state()  # type: ignore[no-any-return]
    finally:
        context.close()


from .wordpress import wordpress  # noqa: E402, F401


@pytest.fixture(scope="module")
def busy(server: Server, host: Host, human_browser: Any) -> tuple[Published, str, str]:
    """A comparison one reader has seen on two pages, rolled up: (it, first page, second)."""
    published = publish(server, title="Ollama vs LM Studio, a year later")
    context = human_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        first, second = read_as_a_reader(Tab(context.new_page()), host, server, published)
    finally:
        context.close()
    deadline = time.monotonic() + 2 * WAIT / 1000
    with Client(server.base, server.key) as client:
        while client.stats(published.slug).totals["impressions"] < 2:
            assert time.monotonic() < deadline, "the events were never rolled up"
            time.sleep(0.2)
    return published, first, second
