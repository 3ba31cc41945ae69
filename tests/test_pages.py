"""The server-rendered pages: the iframe form, the canonical page and oEmbed."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from helpers import PUBLIC_URL, Tags

API = "/api/v1/comparisons"
XSS = "<img src=x onerror=alert(1)>"
# The attributes WordPress keeps on an iframe from an oEmbed provider it does not know.
WORDPRESS_IFRAME_ATTRIBUTES = set(
    "src width height frameborder marginwidth marginheight scrolling title class".split()
)


@pytest.fixture
def published(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> dict[str, Any]:
    return client.post(API, json=document, headers=auth).json  # type: ignore[no-any-return]


def test_the_iframe_form_is_readable_without_javascript(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    response = client.get(f"/embed/{published['embed']['token']}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    expected = ["Electric Kettle vs Moka Pot", "$45", "The Barista", "Bitter unless you watch it."]
    for words in [*expected, "50%", "—"]:
        assert html.escape(words, quote=False) in text, words


def test_the_iframe_form_may_be_framed_anywhere_and_runs_only_our_script(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    response = client.get(f"/embed/{published['embed']['token']}")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp
    assert "X-Frame-Options" not in response.headers
    scripts = Tags(response.get_data(as_text=True)).find("script")
    assert [s["src"] for s in scripts if s.get("src")] == ["/static/page.js"]


def test_every_page_carries_the_security_headers(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    for path in (
        f"/embed/{published['embed']['token']}",
        "/c/acme/kettle-vs-moka-pot",
        "/embed/bad",
    ):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_iframe_form_of_a_comparison_with_hosts_may_be_framed_by_those_hosts_only(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    document["hosts"] = ["blog.example", "*.friends.example"]
    client.post(API, json=document, headers=auth)
    csp = client.get("/embed/acme/kettle-vs-moka-pot").headers["Content-Security-Policy"]
    (ancestors,) = [d for d in csp.split("; ") if d.startswith("frame-ancestors ")]
    assert ancestors.split()[1:] == [
        "'self'",
        "https://blog.example:*",
        "http://blog.example:*",
        "https://*.friends.example:*",
        "http://*.friends.example:*",
    ]


def test_a_bad_token_gives_a_readable_404_page_in_the_frame(client: FlaskClient) -> None:
    response = client.get("/embed/not-a-token")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Comparison not found" in response.get_data(as_text=True)
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


def test_the_canonical_page_cannot_be_framed(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    response = client.get("/c/acme/kettle-vs-moka-pot")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_canonical_page_is_a_destination_quotes_open_item_links_no_link_to_itself(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    page = client.get("/c/acme/kettle-vs-moka-pot").get_data(as_text=True)
    tags = Tags(page)
    hrefs = [a.get("href") for a in tags.find("a")]
    assert published["embed"]["url"] not in hrefs and "/c/acme/kettle-vs-moka-pot" not in hrefs
    assert "https://example.com/kettle" in hrefs and "https://example.com/moka" in hrefs
    details = tags.find("details")
    assert details and all("open" in d for d in details)
    assert html.escape("Bitter unless you watch it.", quote=False) in page


def test_the_iframe_form_takes_a_theme_and_links_to_items_through_go(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    frame = published["embed"]["iframe_url"].removeprefix(PUBLIC_URL)
    assert frame == "/embed/acme/kettle-vs-moka-pot"
    light = client.get(frame).get_data(as_text=True)
    assert 'data-theme="light"' in light and '<section class="vsw"' in light
    dark = client.get(frame + "?theme=dark").get_data(as_text=True)
    assert '<section class="vsw dark"' in dark
    links = [a["href"] for a in Tags(light).find("a") if "/go/" in a.get("href", "")]
    assert len(links) == 2
    answer = client.get(links[0].removeprefix(PUBLIC_URL))
    assert answer.status_code == 302 and answer.headers["Location"] == "https://example.com/kettle"


def test_the_canonical_page_has_open_graph_tags(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    tags = Tags(client.get("/c/acme/kettle-vs-moka-pot").get_data(as_text=True))
    og = {a["property"]: a["content"] for a in tags.find("meta") if a.get("property")}
    assert og["og:title"] == "Electric Kettle vs Moka Pot"
    assert og["og:description"] == "Which one should make your morning coffee?"
    assert og["og:url"] == f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot"
    assert tags.find("link", rel="canonical")[0]["href"] == og["og:url"]


def test_the_json_ld_gives_the_panels_reviews_and_never_the_reader_vote(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    tags = Tags(client.get("/c/acme/kettle-vs-moka-pot").get_data(as_text=True))
    (block,) = [s for s in tags.scripts if '"@context"' in s]
    data = json.loads(block)
    products = [entry["item"] for entry in data["itemListElement"]]
    assert [p["name"] for p in products] == ["Electric Kettle", "Moka Pot"]
    moka = products[1]["review"]
    assert [r["author"]["name"] for r in moka] == ["The Barista", "The Commuter"]
    assert [r["reviewRating"]["ratingValue"] for r in moka] == [0, 1]
    assert "aggregateRating" not in block and "votes" not in block and "community" not in block


def test_the_canonical_page_advertises_oembed(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    tags = Tags(client.get("/c/acme/kettle-vs-moka-pot").get_data(as_text=True))
    (link,) = tags.find("link", rel="alternate", type="application/json+oembed")
    query = urlencode({"url": f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot", "format": "json"})
    assert link["href"] == f"{PUBLIC_URL}/oembed?{query}"


def test_an_unknown_canonical_page_is_a_404_page(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    for path in ("/c/acme/no-such-slug", "/c/nobody/kettle-vs-moka-pot"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html"


def oembed(client: FlaskClient, url: str, **params: str) -> Any:
    return client.get("/oembed?" + urlencode({"url": url, **params}))


def test_oembed_answers_like_wordpress_post_embeds_a_link_then_the_iframe(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    response = oembed(client, f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot", format="json")
    answer = response.json
    assert response.status_code == 200
    assert answer["type"] == "rich" and answer["version"] == "1.0"
    assert isinstance(answer["width"], int) and isinstance(answer["height"], int)
    assert 200 <= answer["height"] <= 1000  # WordPress keeps a frame between the two
    tags = Tags(answer["html"])
    # WordPress loads its resize script (wp-embed) only for a blockquote fallback, and keeps
    # an attribute-less <blockquote> with its link as the fallback it shows first.
    assert [t for t, _ in tags.tags] == ["blockquote", "a", "iframe"]
    assert answer["html"].startswith(f'<blockquote><a href="{published["embed"]["url"]}">')
    iframe = tags.tags[2][1]
    assert iframe["src"] == published["embed"]["iframe_url"]
    # As wide as the post's column, whatever width WordPress asked for.
    assert (iframe["width"], iframe["height"]) == ("100%", str(answer["height"]))
    assert iframe["scrolling"] == "no"
    assert set(iframe) <= WORDPRESS_IFRAME_ATTRIBUTES


def test_oembed_honours_maxwidth_and_maxheight(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    answer = oembed(
        client, f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot", maxwidth="400", maxheight="300"
    ).json
    assert (answer["width"], answer["height"]) == (400, 300)
    assert 'height="300"' in answer["html"]
    assert oembed(client, published["embed"]["iframe_url"], maxwidth="abc").status_code == 400


def test_oembed_accepts_the_iframe_url_too(client: FlaskClient, published: dict[str, Any]) -> None:
    assert (
        oembed(client, published["embed"]["iframe_url"]).json["title"]
        == "Electric Kettle vs Moka Pot"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/c/acme/kettle-vs-moka-pot",
        f"{PUBLIC_URL}/c/acme/no-such-slug",
        f"{PUBLIC_URL}/c/nobody/kettle-vs-moka-pot",
        f"{PUBLIC_URL}/embed/forged",
        f"{PUBLIC_URL}/somewhere/else",
        "javascript:alert(1)",
        "",
    ],
)
def test_oembed_for_an_unknown_url_is_404(
    client: FlaskClient, published: dict[str, Any], url: str
) -> None:
    response = oembed(client, url)
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404


def test_oembed_in_a_format_other_than_json_is_501(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    response = oembed(client, f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot", format="xml")
    assert response.status_code == 501
    assert response.json["error"]["fields"] == {"format": ["Must be json."]}


def test_a_wordpress_style_consumer_discovers_fetches_and_renders(
    client: FlaskClient, published: dict[str, Any]
) -> None:
    page = client.get(urlsplit(published["embed"]["url"]).path).get_data(as_text=True)
    (link,) = Tags(page).find("link", type="application/json+oembed")
    answer = client.get(str(link["href"]).removeprefix(PUBLIC_URL)).json
    src = re.search(r'src="([^"]+)"', answer["html"])
    assert src is not None
    frame = client.get(urlsplit(html.unescape(src[1])).path)
    assert frame.status_code == 200
    assert "Electric Kettle vs Moka Pot" in frame.get_data(as_text=True)


def test_publisher_text_is_rendered_as_text_on_every_page(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    for field in ("kicker", "title", "question"):
        document[field] = XSS
    for item in document["items"]:
        for field in ("name", "category", "tagline", "description", "price"):
            item[field] = XSS
    for reviewer in document["panel"]:
        reviewer["name"] = reviewer["lens"] = XSS
        for verdict in reviewer["verdicts"].values():
            verdict["quote"] = XSS
    document["cta"] = {
        "kind": "link",
        "headline": XSS,
        "text": XSS,
        "label": XSS,
        "url": "https://example.com/?q=<x>",
    }
    published = client.post(API, json=document, headers=auth).json
    for path in (f"/embed/{published['embed']['token']}", "/c/acme/kettle-vs-moka-pot"):
        page = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert [a.get("src") for t, a in Tags(page).tags if t == "img"] == []
    answer = oembed(client, f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot").json
    assert answer["title"] == XSS  # JSON carries the text; the consumer escapes it
    assert "<img" not in answer["html"]


def test_the_favicon_is_an_empty_cacheable_answer(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 204 and "max-age=86400" in response.headers["Cache-Control"]
