"""The widget bundle as shipped, and the server-side twin of its markup (_comparison.html)."""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from jinja2 import Environment, FileSystemLoader

from vswidget.server import localized
from vswidget.server.i18n import LABELS
from vswidget.server.tallies import FEW_VOTES, tally

ROOT = Path(__file__).resolve().parents[1]
WIDGET_SRC = ROOT / "widget" / "src"
STATIC = ROOT / "src" / "vswidget" / "server" / "static"
TEMPLATES = ROOT / "src" / "vswidget" / "server" / "templates"
DEMO = ROOT / "src" / "vswidget" / "server" / "data" / "demo.yaml"
# gzip -6 bytes of widget.js, the stylesheet inside: what a host page loads (widget/README.md
# says where the bytes go). Isso's embed.min.js is 20,577 at gzip -6 (docs/benchmarks.md).
BUDGET = 7000
XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(scope="module")
def bundler() -> ModuleType:
    """Return widget/bundler.py, the build's logic; checking a build needs rcssmin only."""
    try:
        import rcssmin  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("checking the widget build needs rcssmin: add it to the test extras")
        pytest.skip("checking the widget build needs rcssmin (pip install rcssmin)")
    spec = importlib.util.spec_from_file_location("widget_bundler", ROOT / "widget" / "bundler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle() -> str:
    return (STATIC / "widget.js").read_text(encoding="utf-8")


def environment() -> Environment:
    """Return the templates' environment as the app sets it up, autoescaped as Flask does."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    env.globals["few_votes"] = FEW_VOTES
    env.filters.update(localized.FILTERS)
    return env


def render(payload: dict[str, Any]) -> str:
    """Return the comparison macro's HTML for a payload."""
    template = environment().from_string(
        '{% from "_comparison.html" import comparison %}{{ comparison(p) }}'
    )
    return template.render(p=payload)


def demo_payload(votes: dict[str, int] | None = None, lang: str = "en") -> dict[str, Any]:
    """Return the payload the server would send for the demo comparison."""
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    payload = tally(document, votes or {})
    payload.update(
        token="MQ.test",
        url="https://vs.test/c/acme/" + document["slug"],
        sig="sig",
        locale=lang,
        labels=LABELS[lang],
    )
    for item in payload["items"]:
        item["sponsored"] = False
    return payload


def hostile_payload() -> dict[str, Any]:
    """Return a payload whose every text field, label included, is an HTML injection; its
    locale, one of a fixed few the server picks, stays a language."""

    def poison(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: poison(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [poison(v, key) for v in value]
        if isinstance(value, str) and key not in {"key", "verdict", "kind", "locale"}:
            return XSS
        return value

    payload: dict[str, Any] = poison(demo_payload({"ollama": 2}))
    payload["cta"] = {"kind": "link", "headline": XSS, "text": XSS, "label": XSS, "url": XSS}
    return payload


def hostile_newsletter_payload() -> dict[str, Any]:
    """Return the hostile payload with the newsletter form: its labels are injections too."""
    payload = hostile_payload()
    payload["cta"] = {"kind": "newsletter", "headline": XSS, "text": XSS, "label": XSS}
    return payload


def test_committed_bundle_and_stylesheet_match_their_sources(bundler: ModuleType) -> None:
    # widget/built.json records the digest of the sources (and of the build's logic and
    # terser's version) and of the files that build wrote: a change to either shows here,
    # without Node.js or terser, which only widget/build needs.
    assert bundler.stale() == [], "static files are out of date: run widget/build"
    stylesheet = bundler.minify_css((WIDGET_SRC / "widget.css").read_text(encoding="utf-8"))
    assert bundler.read()["widget.css"] == stylesheet + "\n"


def test_a_fresh_build_matches_the_committed_files(bundler: ModuleType) -> None:
    try:
        built = bundler.build()
    except bundler.BuildError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI rebuilds the widget to compare it: {error}")
        pytest.skip(f"a fresh build needs terser, a build-time tool: {error}")
    assert built == bundler.read(), "static files are out of date: run widget/build"


def test_build_writes_both_files_and_what_it_built(bundler: ModuleType, tmp_path: Path) -> None:
    record = tmp_path / "built.json"
    bundler.write(bundler.read(), tmp_path, record)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "built.json",
        "page.js",
        "widget.css",
        "widget.js",
    ]
    assert bundler.stale(tmp_path, record) == []
    (tmp_path / "widget.js").write_text("/* edited by hand */", encoding="utf-8")
    assert bundler.stale(tmp_path, record) == ["widget.js"]


def test_bundle_inlines_the_stylesheet_it_adopts(bundle: str) -> None:
    css = (STATIC / "widget.css").read_text(encoding="utf-8").strip()
    assert ":host{all:initial;display:block!important;font-family:inherit}" in css
    assert f"const CSS={json.dumps(css)};" in bundle


def test_script_fits_the_gzip_budget(bundle: str) -> None:
    assert len(gzip.compress(bundle.encode(), 6)) <= BUDGET


@pytest.mark.parametrize(
    "forbidden",
    ["innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write"],
)
def test_bundle_never_parses_html_or_evaluates_strings(bundle: str, forbidden: str) -> None:
    assert forbidden not in bundle


def test_bundle_contains_no_url_literal(bundle: str) -> None:
    # The one http(s) check is a regular expression, /^https?:\/\//, which this does not match.
    assert re.findall(r"https?://\S*", bundle) == []
    assert r"/^https?:\/\//i" in bundle


def test_bundle_guards_against_a_second_copy_and_drains_the_queue(bundle: str) -> None:
    assert "document.currentScript" in bundle
    assert "prev.loaded" in bundle
    assert "prev.q.forEach" in bundle


def test_bundle_keeps_no_cookie_and_sends_without_credentials(bundle: str) -> None:
    assert "cookie" not in bundle.lower()
    assert 'credentials:"omit"' in bundle
    # terser shortens local names (token, url, body): the calls are the same.
    assert re.search(r'localStorage\.setItem\("vsw:"\+\w+', bundle)
    # Events go by sendBeacon, with fetch(keepalive) only where sendBeacon is missing.
    assert re.search(r"navigator\.sendBeacon\(\w+,\w+\)", bundle)
    assert re.search(r"keepalive:(true|!0)", bundle)


def test_the_servers_pages_have_a_script_of_their_own_without_the_stylesheet(
    bundle: str,
) -> None:
    page = (STATIC / "page.js").read_text(encoding="utf-8")
    assert 'getElementById("vsw-payload")' in page
    assert 'querySelector("section.vsw")' in page
    assert "const CSS" not in page and "vsw-payload" not in bundle
    # It speaks WordPress's embed protocol: the height, the answer to ready, links.
    for message in ('"height"', '"ready"', '"link"'):
        assert message in page


@pytest.mark.parametrize("make", [hostile_payload, hostile_newsletter_payload])
def test_comparison_macro_escapes_every_text_field(make: Any) -> None:
    html = render(make())
    assert ESCAPED in html
    assert "<img" not in html
    assert "javascript:" not in html and 'href="&lt;' not in html


def test_comparison_macro_escapes_the_newsletter_form_and_vote_buttons() -> None:
    html = render(hostile_newsletter_payload())
    assert f'<label for="vsw-email">{ESCAPED}</label>' in html
    assert f'<label for="vsw-consent">{ESCAPED}</label>' in html
    assert f'<button class="btn" type="submit">{ESCAPED}</button>' in html
    assert html.count(f'aria-pressed="false">{ESCAPED}</button>') == 2


def test_comparison_macro_links_only_http_urls() -> None:
    payload = demo_payload()
    payload["items"][0]["url"] = "javascript:alert(1)"
    payload["url"] = "data:text/html,hi"
    html = render(payload)
    assert "javascript:" not in html and "data:" not in html
    assert '<a class="visit" target="_blank" rel="noopener">Visit Ollama</a>' in html
    assert '<a class="visit" href="https://lmstudio.ai/" target="_blank"' in html


def test_comparison_macro_is_as_tall_as_its_content_and_names_the_region() -> None:
    html = render(demo_payload())
    assert html.startswith(
        '<section class="vsw" role="region" aria-label="Comparison: Ollama vs LM Studio">'
    )
    assert "height" not in html.split(">", 1)[0]


def test_comparison_macro_shows_a_dash_and_invites_the_first_vote() -> None:
    html = render(demo_payload())
    assert '<dd class="pct" style="--p:67%">67%</dd>' in html
    assert html.count('<dd class="pct">—</dd>') == 2
    assert '<p class="poll">No votes yet: be the first to pick one.</p>' in html
    assert html.count('<dd class="n"></dd>') == 2  # the count's line, empty until a vote


@pytest.mark.parametrize(
    ("votes", "poll", "counts"),
    [
        (
            {"ollama": 1},
            "1 vote so far: the shares can still move a lot.",
            ["1 vote", "0 votes"],
        ),
        (
            {"ollama": 20, "lm-studio": 9},
            "29 votes so far: the shares can still move a lot.",
            ["20 votes", "9 votes"],
        ),
        ({"ollama": 20, "lm-studio": 10}, "30 votes from readers.", ["20 votes", "10 votes"]),
    ],
)
def test_comparison_macro_shows_each_share_with_its_count_and_warns_while_votes_are_few(
    votes: dict[str, int], poll: str, counts: list[str]
) -> None:
    html = render(demo_payload(votes))
    assert f'<p class="poll">{poll}</p>' in html
    assert re.findall(r'<dd class="n">([^<]*)</dd>', html) == counts


def test_comparison_macro_speaks_the_payloads_language() -> None:
    html = render(demo_payload({"ollama": 1}, lang="de"))
    assert "Ollama besuchen" in html and "1 Stimme" in html and "Jury uneins" in html


def test_comparison_macro_marks_split_items_dissents_and_verdicts_in_words() -> None:
    html = render(demo_payload())
    assert html.count('<span class="flag split">Panel split</span>') == 2
    assert html.count('role="img" aria-label="Against the panel majority"') == 2
    assert '<span class="vv">Ship</span>' in html and '<span class="vv">Skip</span>' in html
    # Each reviewer's quotes fold under that reviewer's verdicts.
    assert html.count('<details class="quotes"><summary>Read why</summary>') == 3
    reviewer = html.split('<li class="rev">')[1]
    assert "The Maintainer" in reviewer and "<q>" in reviewer


def test_comparison_macro_says_agrees_when_the_panel_is_unanimous() -> None:
    payload = demo_payload()
    payload["contested"] = []
    assert render(payload).count('<span class="flag agrees">Panel agrees</span>') == 2


def test_comparison_macro_marks_sponsored_links() -> None:
    payload = demo_payload()
    payload["items"][1]["sponsored"] = True
    html = render(payload)
    assert '<span class="flag sponsored">Sponsored</span>' in html
    assert 'href="https://lmstudio.ai/" target="_blank" rel="noopener sponsored"' in html


def test_comparison_macro_renders_a_vote_button_on_every_card() -> None:
    html = render(demo_payload(lang="de"))
    for name in ("Ollama", "LM Studio"):
        assert (
            f'<button class="vote" type="button" aria-pressed="false">{name} wählen</button>'
            in html
        )
    # The button comes first in the row, the item's link after it.
    assert re.search(
        r'<div class="actions"><button class="vote"[^>]*>[^<]*</button><a class="visit"', html
    )


def test_comparison_macro_has_a_live_region_for_the_vote_in_the_footer() -> None:
    html = render(demo_payload())
    assert '<p class="note" role="status" aria-live="polite"></p>' in html


def test_comparison_macro_renders_the_newsletter_form() -> None:
    html = render(demo_payload())
    assert '<div class="cta" part="cta" data-kind="newsletter">' in html
    assert '<form method="post" novalidate>' in html
    assert '<label for="vsw-email">Email address</label>' in html
    assert (
        '<input id="vsw-email" type="email" name="email" autocomplete="email" required'
        ' aria-describedby="vsw-email-e">'
    ) in html
    assert '<input id="vsw-consent" type="checkbox" name="consent" required' in html
    assert '<label for="vsw-consent">Yes, send me this newsletter.' in html
    assert '<p class="err" id="vsw-email-e"></p>' in html
    assert '<p class="err" id="vsw-consent-e"></p>' in html
    assert '<button class="btn" type="submit">Subscribe</button>' in html  # the cta's own label
    assert '<p class="msg" role="status" aria-live="polite" tabindex="-1"></p>' in html


def test_comparison_macro_hides_the_honeypot_from_people() -> None:
    html = render(demo_payload())
    (honeypot,) = re.findall(r"<input [^>]*name=\"website\"[^>]*>", html)
    assert honeypot == (
        '<input class="hp" type="text" name="website" tabindex="-1" autocomplete="off"'
        ' aria-hidden="true">'
    )
    css = (WIDGET_SRC / "widget.css").read_text(encoding="utf-8")
    assert re.search(r"\.hp \{[^}]*left: -9999px", css)


def test_comparison_macro_labels_the_sign_up_button_subscribe_by_default() -> None:
    payload = demo_payload(lang="fr")
    payload["cta"].pop("label", None)
    label = LABELS["fr"]["subscribe"]
    assert f'<button class="btn" type="submit">{label}</button>' in render(payload)


def test_comparison_macro_renders_a_link_call_to_action_with_a_default_label() -> None:
    payload = demo_payload()
    payload["cta"] = {"kind": "link", "headline": "Read the guide", "url": "https://vs.test/guide"}
    html = render(payload)
    assert '<a class="btn" href="https://vs.test/guide" target="_blank" rel="noopener">' in html
    assert ">Learn more</a>" in html and 'class="signup"' not in html and "<form" not in html


def test_comparison_macro_leaves_out_what_the_payload_leaves_out() -> None:
    payload = copy.deepcopy(demo_payload())
    for key in ("kicker", "question", "cta"):
        del payload[key]
    payload["panel"] = []
    payload["contested"] = []
    for item in payload["items"]:
        for key in ("category", "tagline", "description", "price"):
            del item[key]
    html = render(payload)
    for cls in (
        "kicker",
        "question",
        "cta",
        "scorecard",
        "meta",
        "tagline",
        "description",
        "entry",
    ):
        assert f'class="{cls}' not in html and f'class="stat {cls}' not in html
    assert '<h3 class="name">Ollama</h3>' in html


def render_form(payload: dict[str, Any], **options: Any) -> str:
    """Return the comparison macro's HTML in one of its forms ("page", "frame")."""
    template = environment().from_string(
        '{% from "_comparison.html" import comparison %}{{ comparison(p, **o) }}'
    )
    return template.render(p=payload, o=options)


def test_the_canonical_form_opens_every_fold_and_does_not_link_to_itself() -> None:
    html = render_form(demo_payload(), form="page")
    assert html.count("<details") == html.count('<details class="quotes" open>') + html.count(
        '<details class="about" open>'
    )
    assert html.count('<details class="about" open>') == 2
    assert "Full comparison" not in html and "https://vs.test/c/acme/" not in html
    assert 'href="https://ollama.com/"' in html  # the item links stay


def test_the_frame_form_is_compact_and_links_out_through_go() -> None:
    visits = {"ollama": "https://vs.test/go/a", "lm-studio": "https://vs.test/go/b"}
    html = render_form(demo_payload(), form="frame", visits=visits)
    for left_out in ('class="tagline"', 'class="about"', 'class="scorecard"', 'class="meta"'):
        assert left_out not in html
    # The panel is a link to the canonical page; the item links go through /go.
    assert (
        '<p class="panel"><a class="more" href="https://vs.test/c/acme/ollama-vs-lm-studio"' in html
    )
    assert "Read the 3 reviewers’ verdicts and quotes" in html
    assert (
        '<a class="visit go" href="https://vs.test/go/a" target="_blank" rel="noopener"'
        ' aria-label="Visit Ollama">Visit</a>'
    ) in html
    assert 'aria-label="Pick Ollama">Pick</button>' in html
    assert 'href="https://ollama.com/"' not in html


def test_the_frame_form_links_to_the_form_it_has_no_room_for_and_can_be_tight() -> None:
    html = render_form(demo_payload(), form="frame", signup=False, tight=True)
    assert "<form" not in html
    assert '<a class="btn" href="https://vs.test/c/acme/ollama-vs-lm-studio#vsw-email"' in html
    assert html.startswith('<section class="vsw tight"')


def test_the_dark_theme_is_a_class_on_the_section() -> None:
    assert render_form(demo_payload(), dark=True).startswith('<section class="vsw dark"')


# -- the pages that render the macro ------------------------------------------------------


def test_the_servers_pages_carry_the_payload_as_a_safe_data_block_and_load_widget_js(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    document["title"] = "</script><script>alert(1)</script>" + XSS
    document["cta"] = {"kind": "newsletter", "headline": XSS}
    published = client.post("/api/v1/comparisons", json=document, headers=auth).json
    token = published["embed"]["token"]
    for path in (f"/embed/{token}", f"/c/acme/{document['slug']}"):
        page = client.get(path).get_data(as_text=True)
        (block,) = re.findall(
            r'<script type="application/json" id="vsw-payload">(.*?)</script>', page, re.S
        )
        assert "<" not in block and ">" not in block  # nothing in it can close the element
        data = json.loads(block)
        assert data["token"] == token and data["title"] == document["title"]
        assert '<script async src="/static/page.js"></script>' in page
        assert page.index('id="vsw-payload"') < page.index('src="/static/page.js"')


# -- render.js and the macro: the same markup ---------------------------------------------

# A DOM just big enough for render.js, in Node: every element records its tag, attributes
# (properties such as className and href count as their attributes), style and children.
FAKE_DOM = r"""
const ATTR = { className: "class", htmlFor: "for" };
function element(tag) {
  const node = { tag, attrs: {}, css: {}, kids: [] };
  const style = {
    setProperty: (k, v) => (node.css[k] = String(v)),
    removeProperty: k => delete node.css[k],
  };
  return new Proxy(node, {
    get(t, k) {
      if (k === "style")
        return new Proxy(style, { set: (s, k, v) => ((node.css[k] = String(v)), true) });
      if (k === "appendChild") return c => (node.kids.push(c), c);
      if (k === "setAttribute") return (a, v) => (node.attrs[a] = String(v));
      return t[k];
    },
    set(t, k, v) {
      if (k === "textContent") node.kids = [String(v)];
      else node.attrs[ATTR[k] || k] = String(v);
      return true;
    },
  });
}
globalThis.document = { createElement: element };
function tree(n) {
  if (typeof n === "string") return n;
  const attrs = Object.assign({}, n.attrs);
  if (Object.keys(n.css).length) attrs.style = n.css;
  return [n.tag, attrs, n.kids.map(tree)];
}
"""

VOID = {"input", "br", "img", "meta", "link", "hr"}


class Tree(HTMLParser):
    """The macro's HTML as [tag, attrs, children], whitespace between elements dropped."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root: list[Any] = ["#root", {}, []]
        self.stack = [self.root]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, Any] = {k: v or "" for k, v in attrs}
        if "style" in values:
            values["style"] = dict(
                (part.split(":", 1)[0].strip(), part.split(":", 1)[1].strip())
                for part in values["style"].split(";")
                if part.strip()
            )
        node = [tag, values, []]
        self.stack[-1][2].append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            assert self.stack.pop()[0] == tag

    def handle_data(self, data: str) -> None:
        kids = self.stack[-1][2]
        if kids and isinstance(kids[-1], str):
            kids[-1] += data
        else:
            kids.append(data)


def normal(node: Any) -> Any:
    """Text trimmed, whitespace-only text dropped; the same for both sides."""
    if isinstance(node, str):
        return node.strip()
    tag, attrs, kids = node
    kept = [normal(k) for k in kids if not (isinstance(k, str) and not k.strip())]
    return [tag, attrs, kept]


def js_tree(payload: dict[str, Any]) -> Any:
    """Run render.js's build(payload) in Node with the fake DOM and return its tree."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Node.js is needed to compare render.js with the macro")
        pytest.skip("Node.js is not installed")
    program = "\n".join(
        [
            FAKE_DOM,
            (WIDGET_SRC / "format.js").read_text(encoding="utf-8"),
            (WIDGET_SRC / "render.js").read_text(encoding="utf-8"),
            f"process.stdout.write(JSON.stringify(tree(build({json.dumps(payload)}))));",
        ]
    )
    done = subprocess.run(
        [node, "-"], input=program, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def newsletter_without_label() -> dict[str, Any]:
    payload = demo_payload({"ollama": 1}, lang="es")
    payload["cta"].pop("label", None)
    payload["items"][1]["sponsored"] = True
    return payload


def link_cta_unanimous() -> dict[str, Any]:
    payload = demo_payload({"ollama": 2, "lm-studio": 1}, lang="de")
    payload["cta"] = {"kind": "link", "headline": "Guide", "url": "https://vs.test/g"}
    payload["contested"] = []
    return payload


def bare() -> dict[str, Any]:
    payload = copy.deepcopy(demo_payload())
    for key in ("kicker", "question", "cta"):
        del payload[key]
    payload["panel"] = []
    payload["contested"] = []
    for item in payload["items"]:
        for key in ("category", "tagline", "description", "price", "url"):
            item.pop(key, None)
    return payload


@pytest.mark.parametrize(
    "make",
    [
        demo_payload,
        newsletter_without_label,
        link_cta_unanimous,
        bare,
        hostile_payload,
        hostile_newsletter_payload,
    ],
)
def test_render_js_and_the_macro_build_the_same_elements(make: Any) -> None:
    payload = make()
    (server,) = normal(Tree(render(payload)).root)[2]
    assert normal(js_tree(payload)) == server
