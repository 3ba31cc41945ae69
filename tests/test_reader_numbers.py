"""Counts in the reader's language: digits grouped, plural forms chosen by CLDR's rules.

The iframe form and the canonical page (Babel) say what the widget says in the browser
(Intl; tests/browser/test_reader_numbers.py checks it in Chromium against the same COUNTS).
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from vswidget.server import models
from vswidget.server.extensions import db
from vswidget.server.i18n import LABELS
from vswidget.server.localized import grouped
from vswidget.server.tallies import FEW_VOTES

API = "/api/v1/comparisons"
NNBSP = "\u202f"  # French groups digits with a narrow no-break space
# (language, votes): the words under the item's share, on every page and in the widget.
COUNTS = {
    ("en", 1): "1 vote",
    ("en", 2): "2 votes",
    ("en", 1234): "1,234 votes",
    ("en", 1_000_000): "1,000,000 votes",
    ("de", 1): "1 Stimme",
    ("de", 2): "2 Stimmen",
    ("de", 1234): "1.234 Stimmen",
    ("de", 1_000_000): "1.000.000 Stimmen",
    ("fr", 1): "1 vote",
    ("fr", 2): "2 votes",
    ("fr", 1234): f"1{NNBSP}234 votes",
    ("fr", 1_000_000): f"1{NNBSP}000{NNBSP}000 de votes",  # CLDR's "many"
    ("es", 1): "1 voto",
    ("es", 2): "2 votos",
    ("es", 1234): "1234 votos",  # CLDR: Spanish groups from five digits
    ("es", 1_000_000): "1.000.000 de votos",  # CLDR's "many"
}
LANGUAGES = ("en", "de", "fr", "es")
VOTES = (1, 2, 1234, 1_000_000)


def publish_with_votes(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any], votes: int
) -> str:
    """Publish the document under a slug of its own, its first item with ``votes`` votes and
    the second with none, and return its embed token."""
    document = {**document, "slug": f"counted-{votes}"}
    published = client.post(API, json=document, headers=auth).json
    assert published, "the document was refused"
    comparison = select(models.comparisons.c.id).where(
        models.comparisons.c.slug == document["slug"]
    )
    with app.app_context(), db.writing() as sql:
        sql.execute(
            update(models.vote_tallies)
            .where(models.vote_tallies.c.comparison_id == comparison.scalar_subquery())
            .where(models.vote_tallies.c.item_key == document["items"][0]["key"])
            .values(count=votes)
        )
    return str(published["embed"]["token"])


def expected_texts(lang: str, votes: int) -> dict[str, Any]:
    """Return the line under the question and each item's count, for ``votes`` on the first."""
    count = COUNTS[lang, votes]
    labels = LABELS[lang]
    poll = labels["early" if votes < FEW_VOTES else "total"].replace("{count}", count)
    return {"poll": poll, "counts": [count, labels["no_votes"]]}


def shown_texts(page: str) -> dict[str, Any]:
    """Return the poll line and the counts a server page shows."""
    (poll,) = re.findall(r'<p class="poll">([^<]*)</p>', page)
    counts = re.findall(r'<dd class="n">([^<]*)</dd>', page)
    return {"poll": html.unescape(poll), "counts": [html.unescape(c) for c in counts]}


@pytest.mark.parametrize("votes", VOTES)
def test_the_pages_group_digits_and_choose_plural_forms_in_each_language(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    document: dict[str, Any],
    votes: int,
) -> None:
    token = publish_with_votes(app, client, auth, document, votes)
    for lang in LANGUAGES:
        frame = client.get(f"/embed/{token}?lang={lang}").get_data(as_text=True)
        canonical = client.get(f"/c/acme/counted-{votes}?lang={lang}").get_data(as_text=True)
        assert shown_texts(frame) == expected_texts(lang, votes), (lang, "frame")
        assert shown_texts(canonical) == expected_texts(lang, votes), (lang, "canonical page")


@pytest.mark.parametrize(
    ("lang", "n", "text"),
    [("es", 9999, "9999"), ("es", 12345, "12.345"), ("es", -1234, "-1234"), ("de", 1000, "1.000")],
)
def test_spanish_groups_digits_from_five_as_browsers_do(lang: str, n: int, text: str) -> None:
    assert grouped(n, lang) == text
