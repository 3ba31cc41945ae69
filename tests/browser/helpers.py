"""What the browser tests share besides fixtures: the server, host site and tab they drive,
what is published, and small steps (logging in, axe, colours).

Fixtures live in conftest.py; everything a test imports by name lives here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from helpers import IN_CI

from vswidget.client import Published

# A desktop Chrome's user agent, for a browser whose events the server must count: it drops
# the default "HeadlessChrome" as a bot, and sendBeacon ignores a context's user_agent.
HUMAN_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
PAGES = Path(__file__).with_name("pages")
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
HANDLE = "browser"
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


# -- the browser -----------------------------------------------------------------


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


def assert_no_errors(tab: Tab, *expected: str) -> None:
    """No uncaught error, no console error but the ``expected`` ones (refused requests).

    The server has no /favicon.ico, which Chromium asks for on each of its pages: that
    404 is not the page's doing.
    """
    assert tab.errors == []
    errors = [text for kind, text in tab.console if kind == "error"]
    assert [
        text
        for text, source in zip(errors, tab.error_sources, strict=True)
        if not source.endswith("/favicon.ico") and not any(e in text for e in expected)
    ] == []


def log_in(tab: Tab, server: Server, password: str, path: str = "/dashboard/") -> None:
    """Open a dashboard address logged out, log in on the page it sends you to, land there."""
    tab.page.goto(server.base + path)
    expect(tab.page).to_have_url(f"{server.base}/dashboard/login?next={quote(path)}")
    tab.page.get_by_label("Publisher handle").fill(HANDLE)
    tab.page.get_by_label("Password").fill(password)
    tab.page.get_by_role("button", name="Log in").click()
    expect(tab.page).to_have_url(server.base + path)


# -- accessibility -------------------------------------------------------------------------

try:  # axe-core, as shipped inside the axe-playwright-python package
    from axe_playwright_python.base import AXE_SCRIPT
except ImportError:
    AXE_SCRIPT = None

BLOCKING = ("serious", "critical")


def axe(page: Any, context: Any = None) -> dict[str, Any]:
    """Run axe-core (shipped by axe-playwright-python) on the page, shadow DOM included."""
    if AXE_SCRIPT is None:
        unavailable("axe-playwright-python is not installed: pip install -e '.[test]'")
    page.evaluate(AXE_SCRIPT)
    return page.evaluate(  # type: ignore[no-any-return]
        "([context]) => axe.run(context || document, {resultTypes: ['violations', 'passes']})",
        [context],
    )


def blocking(results: dict[str, Any]) -> list[str]:
    """The serious and critical violations, one readable line per element."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}: {node['failureSummary']}"
        for v in results["violations"]
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]
