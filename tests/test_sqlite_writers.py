"""SQLite writers take turns: one at a time across threads and worker processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from vswidget.sqlite_writers import WriterQueue

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
