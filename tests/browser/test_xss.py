"""A publisher's text is shown as text everywhere: the widget, the iframe form, the page.

One comparison has an XSS payload in every text field. Each form must show the
payloads as visible text, open no dialog and add no element of its own making.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import PASSWORD

from vswidget import Client
from vswidget.client import Published

from .helpers import HANDLE, HUMAN_USER_AGENT, XSS, XSS_TEXT, Host, Server, Tab, log_in

pytestmark = pytest.mark.browser

# Elements a payload could smuggle in.
DANGEROUS = "img, svg, script, iframe, object, embed"

# Fields the widget shows at once; quotes may sit behind a disclosure.
SHOWN = ["kicker", "title", "question", "name_a", "name_b", "category", "tagline", "price"]
SHOWN += ["reviewer", "lens", "headline", "text", "label"]

COUNT_IN_SHADOW = """(el, selector) => el.shadowRoot.querySelectorAll(selector).length"""


# What the compact iframe form leaves to the canonical page it links to.
FRAME_LEAVES_OUT = frozenset({"category", "tagline", "description", "reviewer", "lens", "quote"})
FRAME_LEAVES_OUT_PATHS = {"items.category", "items.tagline", "items.description", "panel.name"}


def assert_everything_is_text(
    tab: Tab, scope: str, text: str, left_out: frozenset[str] = frozenset()
) -> None:
    """Every XSS field (but those ``left_out``) is in ``text``, and the shown ones are visible."""
    missing = [n for n, value in XSS_TEXT.items() if value not in text and n not in left_out]
    assert missing == [], f"not shown as text: {missing}"
    for name in [n for n in SHOWN if n not in left_out]:
        found = tab.page.locator(scope).get_by_text(XSS_TEXT[name], exact=True)
        assert found.filter(visible=True).count() >= 1, f"{name}: {XSS_TEXT[name]!r} not visible"


def test_the_widget_shows_markup_in_every_field_as_text_and_runs_none(
    new_tab: Callable[..., Tab], host: Host, server: Server
) -> None:
    # The same counts for a comparison without any markup: what the widget adds itself.
    plain = new_tab()
    plain.page.goto(host.page("blog.html"))
    selector = f'[data-vswidget="{server.token("ollama")}"]'
    plain.wait_rendered(selector)
    own = plain.page.eval_on_selector(selector, COUNT_IN_SHADOW, DANGEROUS)

    tab = new_tab()
    tab.page.goto(host.page("xss.html"))
    selector = f'[data-vswidget="{server.token("xss")}"]'
    tab.wait_rendered(selector)
    # Open the quotes, so that every field is on screen.
    tab.page.eval_on_selector(
        selector, "el => el.shadowRoot.querySelectorAll('details').forEach(d => d.open = true)"
    )
    text = tab.page.eval_on_selector(selector, "el => el.shadowRoot.textContent")
    assert_everything_is_text(tab, selector, text)
    assert tab.page.locator(selector).get_by_text(XSS_TEXT["quote"]).first.is_visible()

    assert tab.page.eval_on_selector(selector, COUNT_IN_SHADOW, DANGEROUS) == own
    # Outside the widget, only the host page's own elements: its one script tag.
    assert tab.page.locator(f"body :is({DANGEROUS})").count() == 1
    tab.page.wait_for_load_state("networkidle")
    assert tab.dialogs == []
    assert tab.errors == []


@pytest.mark.parametrize("form", ["iframe", "canonical"])
def test_the_server_pages_show_markup_in_every_field_as_text_and_run_none(
    new_tab: Callable[..., Tab], server: Server, form: str
) -> None:
    def url(name: str) -> str:
        published = server.published[name]
        return published.iframe_url if form == "iframe" else published.url

    plain = new_tab()
    plain.page.goto(url("ollama"))
    own = plain.page.locator(DANGEROUS).count()

    tab = new_tab()
    response = tab.page.goto(url("xss"))
    assert response.status == 200
    tab.page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")
    text = tab.page.evaluate("document.body.textContent")
    assert_everything_is_text(
        tab, "body", text, FRAME_LEAVES_OUT if form == "iframe" else frozenset()
    )

    assert tab.page.locator(DANGEROUS).count() == own
    if form == "canonical":
        title = XSS["title"]
        assert tab.page.title() == f"{title}: {XSS['question']}"
        jsonld = tab.page.locator('script[type="application/ld+json"]').text_content()
        assert json.loads(jsonld)["name"] == title
        assert tab.page.url.endswith(f"/c/{HANDLE}/{XSS['slug']}")
    tab.page.wait_for_load_state("networkidle")
    assert tab.dialogs == []
    assert tab.errors == []


# -- the corpus: 58 payloads in every text field, in every form ------------------------

# Script tags, event handlers, javascript: and data: URLs, svg and math namespaces,
# closing tags of the elements our pages use, attribute breakouts, template syntax
# (Jinja's own among them), entities and percent-encoding, bidirectional and
# zero-width characters. Each one that runs sets off a dialog or window.__xss.
# NUL is not among them: no field accepts it (test_hostile_input.py).
CORPUS = [
    "<script>alert(1)</script>",
    "<script>window.__xss=1</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=window.__xss=2>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mi xlink:href=javascript:alert(1)>",
    "<math><mtext><img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<a href=javascript:alert(1)>x</a>",
    '<a href="jAvAsCrIpT:alert(1)">x</a>',
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=window.__xss=3>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>",
    "<marquee onstart=alert(1)>",
    "<style>*{display:none!important}</style>",
    "<link rel=stylesheet href=//x.test/a.css>",
    "<meta http-equiv=refresh content=0;url=//x>",
    "<base href=//evil.test/>",
    "</script><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    '" onmouseover="alert(1)',
    "' autofocus onfocus='alert(1)",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "{{7*7}}",
    "{{constructor.constructor('alert(1)')()}}",
    "${alert(1)}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{% raw %}{{7*7}}{% endraw %}",
    "[[7*7]]",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\u202egnp.exe",
    "\u202dLTR\u202c \u2066isolated\u2069",
    "zero\u200bwidth\u200djoin\ufeffer",
    "<scr\u0130pt>alert(1)</scr\u0130pt>",
    "<img src=x onerror=\\u0061lert(1)>",
    '\\"});alert(1);//',
    "';alert(String.fromCharCode(88))//",
    "<x onclick=alert(1)>click</x>",
    "<svg><animate onbegin=alert(1) attributeName=x>",
    "<template><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
]
SEPARATOR = " ¦ "
# Text fields and their lengths, as in schemas.py; items and reviewers give several slots.
LIMITS = {"kicker": 80, "title": 160, "question": 200}
ITEM_LIMITS = {"name": 80, "category": 60, "tagline": 200, "description": 2000, "price": 40}
REVIEWER_LIMITS = {"name": 80, "lens": 120}
QUOTE, CTA_LIMITS = 2000, {"headline": 120, "text": 300, "label": 40}
COMPARISONS, ITEMS, REVIEWERS = 8, 4, 12
# Host pages readers' browsers report, shown on the dashboard (origin and path).
HOSTILE_PAGES = [
    "https://blog.example/<script>alert(1)</script>",
    'https://blog.example/"><img src=x onerror=alert(1)>',
    "https://blog.example/{{7*7}}/${alert(1)}",
    "http://<svg onload=alert(1)>/post",
]

# Anything a payload could have made of itself, in the page and in every shadow root.
INJECTED = """() => {
  const found = [];
  const tags = "base, iframe, object, embed, marquee, math, audio, video, x, template, " +
    "svg script, svg animate";
  const scan = (root) => {
    for (const el of root.querySelectorAll("*")) {
      // The snippet's own script tag gives the space back when widget.js cannot load.
      const ours = el.tagName === "SCRIPT" && el.src.endsWith("/widget.js");
      for (const attr of el.attributes) {
        if (ours && attr.name === "onerror") continue;
        const value = attr.value.toLowerCase();
        if (attr.name.startsWith("on") || value.startsWith("javascript:") ||
            value.startsWith("data:text/html")) found.push(el.outerHTML.slice(0, 80));
      }
      // Data blocks (JSON, JSON-LD) are never run; any other script holding a payload is.
      const data = ["application/json", "application/ld+json"].includes(el.type);
      if (el.tagName === "SCRIPT" && !data && /alert|__xss/.test(el.textContent)) {
        found.push(el.outerHTML.slice(0, 80));
      }
      if (el.shadowRoot) scan(el.shadowRoot);
    }
    for (const el of root.querySelectorAll(tags)) found.push(el.outerHTML.slice(0, 80));
  };
  scan(document);
  return {found, xss: typeof window.__xss};
}"""
ALL_TEXT = """() => {
  const parts = [];
  const walk = (root) => {
    parts.push(root.textContent || "");
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document.documentElement);
  return parts.join("\\n");
}"""


class Packer:
    """Fills text fields from the corpus, each field from where it stopped last time."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def fill(self, field: str, limit: int) -> str:
        start = self.next.get(field, 0)
        chosen: list[str] = []
        for step in range(len(CORPUS)):
            payload = CORPUS[(start + step) % len(CORPUS)]
            if len(SEPARATOR.join([*chosen, payload])) > limit:
                if chosen:
                    break
                continue  # too long for this field on its own: the next one
            chosen.append(payload)
            self.next[field] = (start + step + 1) % len(CORPUS)
        return SEPARATOR.join(chosen)


def corpus_documents() -> list[dict[str, Any]]:
    """Comparisons whose every text field is filled with payloads, round robin."""
    packer = Packer()
    documents = []
    for n in range(COMPARISONS):
        keys = [f"item-{i}" for i in range(ITEMS)]
        document: dict[str, Any] = {"slug": f"xss-corpus-{n}"}
        document |= {name: packer.fill(name, limit) for name, limit in LIMITS.items()}
        document["items"] = [
            {"key": key, "url": f"https://example.com/{key}"}
            | {name: packer.fill(f"item.{name}", limit) for name, limit in ITEM_LIMITS.items()}
            for key in keys
        ]
        document["panel"] = [
            {
                name: packer.fill(f"reviewer.{name}", limit)
                for name, limit in REVIEWER_LIMITS.items()
            }
            | {
                "verdicts": {
                    key: {
                        "verdict": ("ship", "skip")[(r + i) % 2],
                        "quote": packer.fill("quote", QUOTE),
                    }
                    for i, key in enumerate(keys)
                }
            }
            for r in range(REVIEWERS)
        ]
        document["cta"] = {"kind": "link", "url": "https://example.com/cta"} | {
            name: packer.fill(f"cta.{name}", limit) for name, limit in CTA_LIMITS.items()
        }
        documents.append(document)
    return documents


def placed(document: dict[str, Any], *where: str, frame: bool = False) -> set[str]:
    """The payloads in a document's fields (all of them, or the fields named; without what
    the iframe form leaves out, for ``frame``)."""
    texts: list[str] = []

    def visit(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                visit(inner, f"{path}.{name}".lstrip("."))
        elif isinstance(value, list):
            for inner in value:
                visit(inner, path)
        elif isinstance(value, str) and (not where or path in where):
            if frame and (
                path in FRAME_LEAVES_OUT_PATHS or path.startswith(("panel.lens", "panel.verdicts"))
            ):
                return
            texts.append(value)

    visit(document, "")
    return {payload for text in texts for payload in text.split(SEPARATOR) if payload in CORPUS}


@dataclass
class Corpus:
    documents: list[dict[str, Any]]
    published: list[Published]


@pytest.fixture(scope="module")
def corpus(server: Server) -> Corpus:
    """The corpus comparisons, published, with readers' events from hostile host pages."""
    documents = corpus_documents()
    with Client(server.base, server.key) as client:
        published = [client.publish(document) for document in documents]
    for page in HOSTILE_PAGES:
        batch = {"page": page, "events": [{"type": "impression", "token": published[0].token}]}
        answer = httpx.post(
            f"{server.base}/v1/events",
            content=json.dumps(batch),
            headers={"Content-Type": "text/plain", "User-Agent": HUMAN_USER_AGENT},
        )
        assert answer.status_code == 204, answer.text
    return Corpus(documents, published)


def test_the_corpus_is_in_every_text_field(corpus: Corpus) -> None:
    assert len(CORPUS) == len(set(CORPUS)) >= 50
    everywhere = set.union(*(placed(document) for document in corpus.documents))
    assert everywhere == set(CORPUS)
    # The long fields carry the whole corpus; the short ones as much as fits.
    for field in ("items.description", "panel.verdicts.item-0.quote"):
        assert set.union(*(placed(d, field) for d in corpus.documents)) == set(CORPUS)
    for field in ("kicker", "items.price", "cta.label"):
        assert len(set.union(*(placed(d, field) for d in corpus.documents))) >= COMPARISONS


def assert_inert(tab: Tab, expected: set[str]) -> None:
    """Every payload in ``expected`` is on the page as text; none made anything or ran."""
    text = tab.page.evaluate(ALL_TEXT)
    assert sorted(p for p in expected if p not in text) == []
    # {{7*7}} stays text on every engine: no 49 standing alone (ports, years and the
    # random letters and digits of tokens and ids aside).
    assert re.search(r"(?<![\w.:-])49(?![\w-])", text) is None
    inert = tab.page.evaluate(INJECTED)
    assert inert == {"found": [], "xss": "undefined"}
    assert tab.dialogs == []
    assert tab.errors == []


def test_the_widget_shows_the_corpus_as_text(
    new_tab: Callable[..., Tab], host: Host, corpus: Corpus
) -> None:
    tab = new_tab()
    tab.page.goto(
        host.page("xss-corpus.html", widgets="\n".join(p.snippet for p in corpus.published))
    )
    for published in corpus.published:
        tab.show(f'[data-vswidget="{published.token}"]')
    tab.page.wait_for_load_state("networkidle")
    assert_inert(tab, set(CORPUS))


@pytest.mark.parametrize("form", ["iframe", "canonical"])
def test_the_server_pages_show_the_corpus_as_text(
    new_tab: Callable[..., Tab], corpus: Corpus, form: str
) -> None:
    tab = new_tab()
    for document, published in zip(corpus.documents, corpus.published, strict=True):
        tab.page.goto(published.iframe_url if form == "iframe" else published.url)
        tab.page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")
        assert_inert(tab, placed(document, frame=form == "iframe"))


def test_the_dashboard_shows_the_corpus_and_hostile_host_pages_as_text(
    new_tab: Callable[..., Tab], server: Server, corpus: Corpus
) -> None:
    done = server.cli("publisher", "password", HANDLE, "--password", PASSWORD)
    assert done.returncode == 0, done.stderr
    tab = new_tab()
    log_in(tab, server, PASSWORD)
    titles = set.union(*(placed(document, "title") for document in corpus.documents))
    assert_inert(tab, titles)
    for document in corpus.documents:
        tab.page.goto(f"{server.base}/dashboard/c/{document['slug']}")
        assert_inert(tab, placed(document, "title", "items.name"))
    # The rollup runs every second: the hostile host pages reach the first comparison's page.
    first = f"{server.base}/dashboard/c/{corpus.documents[0]['slug']}"
    paths = [urlsplit(page).path for page in HOSTILE_PAGES]
    deadline = time.monotonic() + 15
    while True:
        tab.page.goto(first)
        text = tab.page.evaluate(ALL_TEXT)
        if all(path in text for path in paths) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [path for path in paths if path not in text] == []
    assert "http://<svg onload=alert(1)>" in text
    assert_inert(tab, placed(corpus.documents[0], "title", "items.name"))
