"""The widget's counts in Chromium, by the browser's own rules (Intl): the words the server's
pages show for the same count and language (tests/test_reader_numbers.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import LANGUAGES, VOTES, expected_texts, publish_with_votes

from .helpers import Tab, expect

SHOWN = """el => {
  const root = el.shadowRoot;
  return {
    poll: root.querySelector(".poll").textContent,
    counts: [...root.querySelectorAll(".n")].map(n => n.textContent),
  };
}"""


@pytest.fixture
def counted(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> Callable[[int], str]:
    """Publish the document with that many votes on its first item; return its embed token."""
    return functools.partial(publish_with_votes, app, client, auth, document)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_widget_groups_digits_and_chooses_plural_forms_as_the_pages_do(
    counted: Callable[[int], str], live_server: str, tab: Tab, lang: str
) -> None:
    tokens = {votes: counted(votes) for votes in VOTES}
    widgets = "".join(
        f'<div data-vswidget="{t}" data-lang="{lang}"></div>' for t in tokens.values()
    )
    page = f'<!doctype html><body>{widgets}<script async src="{live_server}/widget.js"></script>'
    host = f"{live_server}/a-host-page"
    tab.page.route(host, lambda route: route.fulfill(body=page, content_type="text/html"))
    tab.page.goto(host)
    for votes, token in tokens.items():
        tab.show(f'[data-vswidget="{token}"]')
        assert tab.widget(token).evaluate(SHOWN) == expected_texts(lang, votes), votes
    assert tab.errors == [] and tab.warnings == []


def test_a_vote_in_the_iframe_form_shows_the_new_count_in_the_readers_language(
    counted: Callable[[int], str], live_server: str, tab: Tab
) -> None:
    tab.page.goto(f"{live_server}/embed/{counted(1233)}?lang=fr")
    card = tab.page.locator(".card").first  # the item with the votes
    card.locator(".vote").click()
    expect(card.locator(".n")).to_have_text(expected_texts("fr", 1234)["counts"][0])
    expect(tab.page.locator(".poll")).to_have_text(expected_texts("fr", 1234)["poll"])
