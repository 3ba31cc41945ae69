"""Numbers and plural forms in the reader's language, by Babel's CLDR rules, for the templates.

widget/src/format.js does the same in the browser with ``Intl``: the pages and the widget show
the same text for the same count and language (tests/test_reader_numbers.py).

Babel is imported by the first page a worker renders, not with the app: it weighs 4 MiB, its
data 5 MiB for a first language and 1 MiB for each other, which a worker that only answers
the widget's payloads never needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .i18n import MIN_GROUPING_DIGITS


def grouped(n: int, locale: str) -> str:
    """Return ``n`` with the language's digit grouping: "1,234" en, "1.234" de, "1 234" fr.

    Babel ignores CLDR's minimumGroupingDigits, which browsers follow: Spanish groups from
    five digits ("1234", "12.345").
    """
    from babel.numbers import format_decimal

    first_grouped = 10 ** (2 + MIN_GROUPING_DIGITS.get(locale, 1))
    return format_decimal(n, locale=locale, group_separator=abs(n) >= first_grouped)


def vote_count(n: int | None, payload: Mapping[str, Any], item: bool = False) -> str:
    """Return "No votes yet", "1 vote", "1,234 votes" in the payload's language; an item's
    count (``item``) says "0 votes", for "No votes yet" beside the poll's count would
    contradict it.

    The label is ``votes_`` and the CLDR plural category of ``n`` (one, many, other...), or
    ``votes_other`` when the language needs no label of its own for that category.
    """
    from babel import Locale

    labels: Mapping[str, str] = payload["labels"]
    locale: str = payload["locale"]
    n = n or 0
    if not n and not item:
        return labels["no_votes"]
    label = labels.get(f"votes_{Locale.parse(locale).plural_form(n)}", labels["votes_other"])
    return label.replace("{n}", grouped(n, locale))


FILTERS = {"vsw_votes": vote_count}


def init_app(app: Flask) -> None:
    """Register the filters with the app's templates."""
    app.jinja_env.filters.update(FILTERS)
