"""Background jobs start every period, counted from one start to the next; the rollup's
lease ends before the next start."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from vswidget.server.extensions import db
from vswidget.server.jobs import every, maintain
from vswidget.server.models import leases, utcnow


def run(work_seconds: float, stop_after: int) -> tuple[list[float], int]:
    """Run ``every`` on a clock of its own, 10 s a period and ``work_seconds`` a run; return
    how long it waited each time and how many runs it started."""
    now, waits, runs = [0.0], [], [0]

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        return len(waits) > stop_after  # told to stop

    def work() -> None:
        runs[0] += 1
        now[0] += work_seconds

    every(lambda: 10.0, work, wait, clock=lambda: now[0])
    return waits, runs[0]


def test_a_run_that_takes_part_of_the_period_is_followed_a_period_after_it_started() -> None:
    assert run(work_seconds=3.0, stop_after=3) == ([10.0, 7.0, 7.0, 7.0], 3)


def test_a_run_longer_than_the_period_is_followed_at_once() -> None:
    assert run(work_seconds=12.0, stop_after=3) == ([10.0, 0.0, 0.0, 0.0], 3)


def test_a_stop_during_the_first_wait_starts_nothing() -> None:
    assert run(work_seconds=1.0, stop_after=0) == ([10.0], 0)


def test_the_rollup_lease_ends_before_the_next_start_so_its_holder_takes_it_again(
    app: Flask,
) -> None:
    app.config["ROLLUP_SECONDS"] = 10
    with app.app_context():
        before = utcnow()
        maintain()
        until = db.connection.scalar(select(leases.c.until).where(leases.c.name == "rollup"))
    assert before + timedelta(seconds=8.9) <= until <= utcnow() + timedelta(seconds=9)
