"""In-process rate-limit counters: limits' MemoryStorage, swept once a second instead of
every 10 ms, with every counter still expiring at the end of its window."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from helpers import make_app
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from vswidget.server.extensions import limiter
from vswidget.server.memory_counters import SWEEP_EVERY, MemoryCounters, storage_uri


def test_memory_settings_get_these_counters_and_redis_ones_stay_as_they_are() -> None:
    assert storage_uri("memory://") == "vswidget-memory://"
    assert storage_uri("redis://127.0.0.1:6379/3") == "redis://127.0.0.1:6379/3"


def test_an_app_on_memory_counts_its_limits_here(tmp_path: Path) -> None:
    app: Flask = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    with app.app_context():
        assert isinstance(limiter.limiter.storage, MemoryCounters)


def test_a_hit_schedules_one_sweep_a_second_on_a_daemon_thread() -> None:
    counters = MemoryCounters()
    counters.timer.join()  # the first sweep, which MemoryStorage starts with itself
    FixedWindowRateLimiter(counters).hit(parse("5/minute"), "reader")
    assert counters.timer.interval == SWEEP_EVERY == 1.0
    assert counters.timer.daemon


def test_a_counter_ends_with_its_window_before_any_sweep() -> None:
    counters = MemoryCounters()
    limits = FixedWindowRateLimiter(counters)
    rate = parse("1/second")
    assert limits.hit(rate, "reader")
    assert not limits.hit(rate, "reader")
    time.sleep(1.05)
    assert limits.hit(rate, "reader")


def test_a_sweep_after_a_counters_window_forgets_it() -> None:
    counters = MemoryCounters()
    limits = FixedWindowRateLimiter(counters)
    limits.hit(parse("1/second"), "gone")
    time.sleep(1.05)
    limits.hit(parse("1/minute"), "still here")  # traffic goes on: a sweep is scheduled
    deadline = time.monotonic() + 5
    while len(counters.storage) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(counters.storage) == ["LIMITER/still here/1/1/minute"]
