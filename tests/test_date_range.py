"""One range of days, with one limit, for the stats API and the dashboard alike."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from marshmallow import Schema, ValidationError

from vswidget.server.api_schemas import StatsQuerySchema
from vswidget.server.date_range import MAX_DAYS, DateRange
from vswidget.server.views.dashboard.inputs import Range, RangeQuery
from vswidget.server.visitors import today

SINCE = date(2024, 1, 1)
BOTH = [StatsQuerySchema, RangeQuery]


def days_from(since: date, days: int) -> dict[str, str]:
    return {"since": since.isoformat(), "until": (since + timedelta(days=days - 1)).isoformat()}


@pytest.mark.parametrize("schema", BOTH, ids=lambda schema: schema.__name__)
def test_a_range_of_max_days_loads_and_one_day_more_is_refused(schema: type[Schema]) -> None:
    chosen = schema().load(days_from(SINCE, MAX_DAYS))
    assert isinstance(chosen, DateRange) and chosen.days == MAX_DAYS
    with pytest.raises(ValidationError) as refused:
        schema().load(days_from(SINCE, MAX_DAYS + 1))
    assert refused.value.messages == {"since": [f"A range is at most {MAX_DAYS} days."]}


def test_a_leap_year_is_one_range() -> None:
    assert RangeQuery().load(days_from(SINCE, 366)) == Range(SINCE, date(2024, 12, 31))


@pytest.mark.parametrize("schema", BOTH, ids=lambda schema: schema.__name__)
def test_a_range_that_ends_before_it_starts_is_refused(schema: type[Schema]) -> None:
    with pytest.raises(ValidationError) as refused:
        schema().load({"since": "2024-01-02", "until": "2024-01-01"})
    assert refused.value.messages == {"since": ["Must not be after the range's end, 2024-01-01."]}


@pytest.mark.parametrize("schema", BOTH, ids=lambda schema: schema.__name__)
def test_by_default_a_range_is_the_30_days_that_end_today(schema: type[Schema]) -> None:
    chosen = schema().load({})
    assert (chosen.since, chosen.until, chosen.days) == (today() - timedelta(days=29), today(), 30)


@pytest.mark.parametrize("schema", BOTH, ids=lambda schema: schema.__name__)
def test_an_end_alone_gives_the_30_days_that_end_then(schema: type[Schema]) -> None:
    chosen = schema().load({"until": "2024-03-01"})
    assert (chosen.since, chosen.until) == (date(2024, 2, 1), date(2024, 3, 1))
