"""The widget bundle as shipped, and the server-side twin of its markup (_comparison.html)."""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jinja2 import Environment, FileSystemLoader

from vswidget.i18n import LABELS
from vswidget.tallies import tally

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "vswidget" / "static"
TEMPLATES = ROOT / "src" / "vswidget" / "templates"
DEMO = ROOT / "src" / "vswidget" / "data" / "demo.yaml"
BUDGET = 8192  # gzip bytes of widget.js and widget.css together; the goal is 5,000
XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(scope="module")
def bundler() -> ModuleType:
    """Return widget/bundler.py, the build's logic; it needs rjsmin and rcssmin."""
    try:
        import rcssmin  # noqa: F401
        import rjsmin  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the widget build needs rjsmin and rcssmin: add them to the test extras")
        pytest.skip("the widget build needs rjsmin and rcssmin (pip install rjsmin rcssmin)")
    spec = importlib.util.spec_from_file_location("widget_bundler", ROOT / "widget" / "bundler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle() -> str:
    return (STATIC / "widget.js").read_text(encoding="utf-8")


def render(payload: dict[str, Any]) -> str:
    """Return the comparison macro's HTML for a payload, autoescaped as Flask does."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    template = env.from_string('{% from "_comparison.html" import comparison %}{{ comparison(p) }}')
    return template.render(p=payload)


def demo_payload(votes: dict[str, int] | None = None, lang: str = "en") -> dict[str, Any]:
    """Return the payload the server would send for the demo comparison."""
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    payload = tally(document, votes or {})
    payload.update(
        token="MQ.test",
        url="https://vs.test/c/acme/" + document["slug"],
        height=640,
        sig="sig",
        locale=lang,
        labels=LABELS[lang],
    )
    for item in payload["items"]:
        item["sponsored"] = False
    return payload


def hostile_payload() -> dict[str, Any]:
    """Return a payload whose every text field, label included, is an HTML injection."""

    def poison(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: poison(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [poison(v, key) for v in value]
        if isinstance(value, str) and key not in {"key", "verdict", "kind"}:
            return XSS
        return value

    payload: dict[str, Any] = poison(demo_payload({"ollama": 2}))
    payload["cta"] = {"kind": "link", "headline": XSS, "text": XSS, "label": XSS, "url": XSS}
    return payload


def test_committed_bundle_and_stylesheet_match_a_fresh_build(bundler: ModuleType) -> None:
    built = bundler.build()
    assert bundler.stale(built) == [], "static files are out of date: run widget/build"


def test_build_writes_both_files_where_asked(bundler: ModuleType, tmp_path: Path) -> None:
    built = bundler.build()
    bundler.write(built, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["widget.css", "widget.js"]
    assert bundler.stale(built, tmp_path) == []


def test_bundle_inlines_the_stylesheet_it_adopts(bundle: str) -> None:
    css = (STATIC / "widget.css").read_text(encoding="utf-8").strip()
    assert ":host{all:initial;display:block!important}" in css
    assert f"const CSS={json.dumps(css)};" in bundle


def test_script_and_stylesheet_fit_the_gzip_budget(bundle: str) -> None:
    data = bundle.encode() + (STATIC / "widget.css").read_bytes()
    assert len(gzip.compress(data, 9)) <= BUDGET


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


def test_comparison_macro_escapes_every_text_field() -> None:
    html = render(hostile_payload())
    assert ESCAPED in html
    assert "<img" not in html
    assert "javascript:" not in html and 'href="&lt;' not in html


def test_comparison_macro_links_only_http_urls() -> None:
    payload = demo_payload()
    payload["items"][0]["url"] = "javascript:alert(1)"
    payload["url"] = "data:text/html,hi"
    html = render(payload)
    assert "javascript:" not in html and "data:" not in html
    assert '<a class="visit" target="_blank" rel="noopener">Visit Ollama</a>' in html
    assert '<a class="visit" href="https://lmstudio.ai/" target="_blank"' in html


def test_comparison_macro_keeps_the_reserved_height_and_names_the_region() -> None:
    html = render(demo_payload())
    assert html.startswith(
        '<section class="vsw" role="region" aria-label="Comparison: Ollama vs LM Studio"'
        ' style="height:640px">'
    )


def test_comparison_macro_shows_a_dash_until_someone_votes() -> None:
    html = render(demo_payload())
    assert '<dd class="pct" style="--p:67%">67%</dd>' in html
    assert html.count('<dd class="pct">—</dd>') == 2
    assert '<span class="count">No votes yet</span>' in html


@pytest.mark.parametrize(
    ("votes", "shown"),
    [({"ollama": 1}, "1 vote"), ({"ollama": 2, "lm-studio": 1}, "3 votes")],
)
def test_comparison_macro_counts_votes_in_the_payloads_language(
    votes: dict[str, int], shown: str
) -> None:
    assert f'<span class="count">{shown}</span>' in render(demo_payload(votes))


def test_comparison_macro_speaks_the_payloads_language() -> None:
    html = render(demo_payload({"ollama": 1}, lang="de"))
    assert "Ollama besuchen" in html and "1 Stimme" in html and "Jury uneins" in html


def test_comparison_macro_marks_split_items_dissents_and_verdicts_in_words() -> None:
    html = render(demo_payload())
    assert html.count('<span class="flag split">Panel split</span>') == 2
    assert html.count('role="img" aria-label="Against the panel majority"') == 2
    assert '<span class="vv">Ship</span>' in html and '<span class="vv">Skip</span>' in html
    assert '<details class="quotes">\n        <summary>Read the verdicts</summary>' in html


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


def test_comparison_macro_leaves_a_container_for_the_newsletter_form() -> None:
    html = render(demo_payload())
    assert '<div class="cta" part="cta" data-kind="newsletter">' in html
    assert '<div class="signup"></div>' in html


def test_comparison_macro_renders_a_link_call_to_action_with_a_default_label() -> None:
    payload = demo_payload()
    payload["cta"] = {"kind": "link", "headline": "Read the guide", "url": "https://vs.test/guide"}
    html = render(payload)
    assert '<a class="btn" href="https://vs.test/guide" target="_blank" rel="noopener">' in html
    assert ">Learn more</a>" in html and 'class="signup"' not in html


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
    for cls in ("kicker", "question", "cta", "scorecard", "meta", "tagline", "desc", "entry"):
        assert f'class="{cls}' not in html and f'class="stat {cls}' not in html
    assert '<h3 class="name">Ollama</h3>' in html
