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
from helpers import LANGUAGES, VOTES, expected_texts, publish_with_votes

from vswidget.server.localized import grouped


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
