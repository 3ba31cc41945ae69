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
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import DOCUMENT

from vswidget import Client, Comparison
from vswidget.client import Published

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A desktop Chrome's user agent, for a browser whose events the server must count: it drops
# the default "HeadlessChrome" as a bot, and sendBeacon ignores a context's user_agent.
HUMAN_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
# Every test reads from 127.0.0.1: the default limits per address would refuse votes midway.
GENEROUS_LIMITS = {
    "VSWIDGET_VOTE_RATE_LIMIT": "100000/minute",
    "VSWIDGET_SIGNUP_RATE_LIMIT": "100000/minute",
    "VSWIDGET_EVENT_RATE_LIMIT": "100000/minute",
}
# The server rolls events up for the dashboard this often (its default is a minute).
ROLLUP_SECONDS = 1
IN_CI = os.environ.get("CI", "").lower() == "true"
PAGES = Path(__file__).with_name("pages")
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
HANDLE = "browser"
START_TIMEOUT = 30  # seconds for gunicorn to answer /healthz
WAIT = 10_000  # milliseconds any one browser wait may take

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips the tests (fails them under CI)
    expect = None
else:  # the browser tests' assertions wait as long as any other browser wait
    expect.set_options(timeout=WAIT)

# True once every element matching the selector (and `count` of them, if given) holds a
# rendered widget: a shadow root with an element other than a stylesheet.
RENDERED = """([selector, count]) => {
  const all = [...document.querySelectorAll(selector)];
  return (count === null || all.length === count) && all.length > 0 &&
    all.every((el) => el.shadowRoot &&
      [...el.shadowRoot.children].some((c) => !["STYLE", "LINK"].includes(c.tagName)));
}"""

# The three XSS payloads of the brief, in every text field of one comparison.
IMG = "<img src=x onerror=alert(document.domain)>"
SCRIPT = "<script>alert(1)</script>"
SVG = '"><svg onload=alert(1)>'


def unavailable(reason: str) -> None:
    """Skip the browser tests, or fail them under CI, which must run them."""
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- what is published ---------------------------------------------------------

OLLAMA: dict[str, Any] = {
    "slug": "ollama-vs-lm-studio",
    "kicker": "Local AI tools",
    "title": "Ollama vs LM Studio",
    "question": "Which local model runner belongs on your laptop?",
    "items": [
        {
            "key": "ollama",
            "name": "Ollama",
            "category": "Developer Tools",
            "tagline": "One command to pull and run an open model",
            "price": "Free",
            "url": "https://example.com/ollama",
        },
        {
            "key": "lm-studio",
            "name": "LM Studio",
            "category": "Desktop App",
            "tagline": "A desktop app to find, chat with and serve models",
            "price": "Free",
            "url": "https://example.com/lm-studio",
        },
    ],
    "panel": [
        {
            "name": "The Maintainer",
            "lens": "Will it still work in a year?",
            "verdicts": {
                "ollama": {"verdict": "ship", "quote": "Scriptable and boring, in a good way."},
                "lm-studio": {"verdict": "skip", "quote": "Closed source makes me nervous."},
            },
        },
        {
            "name": "The Tinkerer",
            "lens": "How fast can I try a new model?",
            "verdicts": {
                "ollama": {"verdict": "ship"},
                "lm-studio": {"verdict": "skip"},
            },
        },
        {
            "name": "The Newcomer",
            "lens": "Can I use it without a terminal?",
            "verdicts": {
                "ollama": {"verdict": "skip", "quote": "The terminal scared me off."},
                "lm-studio": {"verdict": "ship", "quote": "Click, download, chat."},
            },
        },
    ],
    "cta": {"kind": "newsletter", "headline": "Weekly AI Tool Verdicts", "text": "In your inbox."},
}

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


# Every text field an XSS payload; a marker after each tells the fields apart.
XSS_TEXT: dict[str, str] = {
    "kicker": IMG + " k",
    "title": SCRIPT + IMG + SVG,
    "question": SVG + " q",
    "name_a": IMG + " a",
    "name_b": SCRIPT + " b",
    "category": SVG + " c",
    "tagline": SCRIPT + " t",
    "description": IMG + " d",
    "price": SCRIPT + " p",
    "reviewer": SVG + " r",
    "lens": IMG + " l",
    "quote": SCRIPT + IMG + " qu",
    "headline": SVG + " h",
    "text": IMG + " x",
    "label": SVG + " lb",
}

XSS: dict[str, Any] = {
    "slug": "xss-vs-everything",
    "kicker": XSS_TEXT["kicker"],
    "title": XSS_TEXT["title"],
    "question": XSS_TEXT["question"],
    "items": [
        {
            "key": "a",
            "name": XSS_TEXT["name_a"],
            "category": XSS_TEXT["category"],
            "tagline": XSS_TEXT["tagline"],
            "description": XSS_TEXT["description"],
            "price": XSS_TEXT["price"],
            "url": "https://example.com/a",
        },
        {"key": "b", "name": XSS_TEXT["name_b"], "url": "https://example.com/b"},
    ],
    "panel": [
        {
            "name": XSS_TEXT["reviewer"],
            "lens": XSS_TEXT["lens"],
            "verdicts": {
                "a": {"verdict": "ship", "quote": XSS_TEXT["quote"]},
                "b": {"verdict": "skip"},
            },
        }
    ],
    "cta": {
        "kind": "link",
        "headline": XSS_TEXT["headline"],
        "text": XSS_TEXT["text"],
        "label": XSS_TEXT["label"],
        "url": "https://example.com/cta",
    },
}


# -- the vswidget server -------------------------------------------------------


@dataclass
class Server:
    """The running vswidget server and what was published on it."""

    base: str
    key: str
    published: dict[str, Published]
    bad_token: str
    closed_port: int
    instance: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        """The server's SQLite file, for what no public API reads back (events)."""
        return self.instance / "vswidget.sqlite3"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``vswidget ARGS`` against this server's instance, as whoever runs it would."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("vswidget")), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def token(self, name: str) -> str:
        return self.bad_token if name == "bad" else self.published[name].token

    def values(self) -> dict[str, str]:
        """Everything a host page template may name."""
        values = {"server": self.base, "closed_port": str(self.closed_port)}
        for name, published in self.published.items():
            values |= {
                f"snippet_{name}": published.snippet,
                f"token_{name}": published.token,
                f"height_{name}": str(published.height),
                f"url_{name}": published.url,
            }
        ollama = self.published["ollama"]
        values |= {
            "snippet_bad": ollama.snippet.replace(ollama.token, self.bad_token),
            "token_bad": self.bad_token,
            "height_bad": str(ollama.height),
            "url_bad": ollama.url,
        }
        return values


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


def wait_answering(
    url: str, process: subprocess.Popen[bytes], log: Path, name: str, timeout: float
) -> None:
    """Wait until ``url`` answers 200; fail with the server's log if it exits or takes longer."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer {url} in {timeout} s:\n{log.read_text()}")
        time.sleep(0.1)


# -- the host site ---------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@dataclass
class Host:
    """A static site on another 127.0.0.1 port, serving pages made from templates."""

    base: str
    folder: Path
    values: dict[str, str]
    made: int = 0

    def page(self, template: str, **values: str) -> str:
        """Fill in ``pages/TEMPLATE`` and return the URL of the page on the host site."""
        text = Template((PAGES / template).read_text()).substitute(self.values | values)
        self.made += 1
        name = f"{self.made}-{template}"
        (self.folder / name).write_text(text)
        return f"{self.base}/{name}"


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


@dataclass
class Tab:
    """A page, with everything it reported: console, uncaught errors, dialogs, requests."""

    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # Where each console error came from (a script's or a resource's URL), in order.
    error_sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.set_default_timeout(WAIT)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _console(self, message: Any) -> None:
        self.console.append((message.type, message.text))
        if message.type == "error":
            self.error_sources.append(message.location.get("url", ""))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    @property
    def warnings(self) -> list[str]:
        """The widget's own console lines."""
        return [text for _, text in self.console if text.startswith("[vswidget]")]

    def payload_requests(self) -> list[list[str]]:
        """The tokens asked for by each /v1/payloads request, in order."""
        return [
            parse_qs(urlsplit(url).query).get("t", [])
            for url in self.requests
            if urlsplit(url).path == "/v1/payloads"
        ]

    def wait_rendered(self, selector: str = "[data-vswidget]", count: int | None = None) -> None:
        """Wait until every element matching ``selector`` holds a rendered widget."""
        self.page.wait_for_function(
            RENDERED,
            arg=[selector, count],
            timeout=WAIT,
        )

    def show(self, selector: str) -> None:
        """Scroll the widget at ``selector`` into view (widgets load when near) and wait for it."""
        self.page.locator(selector).first.scroll_into_view_if_needed()
        self.wait_rendered(selector)

    def widget(self, name_or_token: str, nth: int = 0) -> Any:
        """A locator for a widget host element by its embed token."""
        return self.page.locator(f'[data-vswidget="{name_or_token}"]').nth(nth)

    def root_style(self, host_selector: str, *properties: str) -> dict[str, str]:
        """Computed style of the widget's root container (first element of its shadow root)."""
        return self.page.eval_on_selector(  # type: ignore[no-any-return]
            host_selector,
            """(el, properties) => {
                const root = [...el.shadowRoot.children]
                    .find((c) => !["STYLE", "LINK"].includes(c.tagName));
                const style = getComputedStyle(root);
                return Object.fromEntries(properties.map((p) => [p, style.getPropertyValue(p)]));
            }""",
            list(properties),
        )


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


# -- small helpers the tests share ---------------------------------------------------


def luminance(css_color: str) -> float:
    """Relative luminance (WCAG) of a computed ``rgb()``/``rgba()`` colour."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_color)[:3]]
    assert len(numbers) == 3, f"not an rgb() colour: {css_color!r}"

    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in numbers)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def oembed(server: Server, url: str, **params: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.base}/oembed", params={"url": url, "format": "json", **params}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return json.loads(answer.text)  # type: ignore[no-any-return]


from .wordpress import wordpress  # noqa: E402, F401
