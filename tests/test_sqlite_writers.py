"""SQLite writers take turns across threads and worker processes, and commit together."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import IntegrityError

from vswidget.server.extensions import make_engine, writing_sql
from vswidget.server.sqlite_writers import WriterQueue

TURNS = 40


def take_turns(queue: WriterQueue, log: Path, name: str) -> None:
    """Write 'start' and 'end' lines around each turn: turns must never interleave."""
    for _ in range(TURNS):
        with queue.turn():
            with log.open("a") as out:
                out.write(f"start {name}\n")
            time.sleep(0.0005)
            with queue.turn():  # a turn within a turn does not wait for itself
                pass
            with log.open("a") as out:
                out.write(f"end {name}\n")


def turns_in(log: Path) -> list[str]:
    lines = log.read_text().splitlines()
    pairs = list(zip(lines[::2], lines[1::2], strict=True))
    assert all(a == f"start {b.split()[1]}" and b.startswith("end") for a, b in pairs)
    return [a.split()[1] for a, _ in pairs]


def test_threads_of_a_process_take_turns(tmp_path: Path) -> None:
    queue, log = WriterQueue(str(tmp_path / "db.sqlite")), tmp_path / "log"
    threads = [threading.Thread(target=take_turns, args=(queue, log, f"t{n}")) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(set(turns_in(log))) == ["t0", "t1", "t2", "t3"]
    assert len(turns_in(log)) == 4 * TURNS


def test_worker_processes_take_turns_though_forked_from_one_parent(tmp_path: Path) -> None:
    queue, log = WriterQueue(str(tmp_path / "db.sqlite")), tmp_path / "log"
    with queue.turn():  # the parent opened its lock file before forking, as a preloading master
        pass
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=take_turns, args=(queue, log, f"p{n}")) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(turns_in(log)) == 3 * TURNS


def test_an_in_memory_database_needs_no_lock_file(tmp_path: Path) -> None:
    queue = WriterQueue(None)
    with queue.turn(), queue.turn():
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[WriterQueue, Callable[[], Any], Engine]]:
    """A SQLite database with one table of unique numbers, and its writers' queue."""
    path = str(tmp_path / "db.sqlite")
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as sql:
        sql.exec_driver_sql("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        sql.exec_driver_sql(
            "CREATE TABLE numbers (n INTEGER UNIQUE, "
            "parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    yield WriterQueue(path), lambda: writing_sql(engine), engine
    engine.dispose()


def insert(n: int) -> Callable[[Connection], int]:
    """A write of ``n``; a negative ``n`` names a parent that does not exist, which only
    COMMIT finds out (the key is checked when the transaction ends)."""

    def work(sql: Connection) -> int:
        parent = 999 if n < 0 else None
        sql.execute(text("INSERT INTO numbers VALUES (:n, :parent)"), {"n": n, "parent": parent})
        return n

    return work


def queued_while_busy(
    queue: WriterQueue, writing: Callable[[], Any], numbers: list[int]
) -> dict[int, Any]:
    """Queue a write per number while the turn is taken, then let them run; their outcomes."""
    outcomes: dict[int, Any] = {}

    def write(index: int, n: int) -> None:
        try:
            outcomes[index] = queue.together(insert(n), writing)
        except Exception as error:  # noqa: BLE001 - the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=write, args=pair) for pair in enumerate(numbers)]
    with queue.lock:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(queue.pending) < len(numbers) and time.monotonic() < deadline:
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def stored(engine: Engine) -> list[int]:
    with engine.connect() as sql:
        return sorted(n for (n,) in sql.execute(text("SELECT n FROM numbers")))


def test_writes_queued_meanwhile_share_one_commit_and_a_failing_one_rolls_back_alone(
    database: tuple[WriterQueue, Callable[[], Any], Engine],
) -> None:
    queue, writing, engine = database
    commits: list[int] = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    outcomes = queued_while_busy(queue, writing, [1, 2, 3, 2, 4])
    assert [outcomes[i] for i in (0, 1, 2, 4)] == [1, 2, 3, 4]
    assert isinstance(outcomes[3], IntegrityError)
    assert len(commits) == 1
    assert stored(engine) == [1, 2, 3, 4]


def test_when_the_commit_fails_every_write_of_it_fails_and_nothing_is_stored(
    database: tuple[WriterQueue, Callable[[], Any], Engine],
) -> None:
    queue, writing, engine = database
    outcomes = queued_while_busy(queue, writing, [1, -2, 3])
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes.values())
    assert "FOREIGN KEY" in str(outcomes[0])
    assert stored(engine) == []
    assert queue.together(insert(4), writing) == 4  # and the next write goes through
    assert stored(engine) == [4]
