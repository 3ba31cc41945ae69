"""The instance folder, the signing keys and the SQLite database: their owner's alone.

They hold the keys that sign every token, webhook secrets and sign-up addresses. New
ones are made owner-only (folders 0700, files 0600). One that every user may read (a
folder made with the usual umask, a database of an older version) is made owner-only
at start, with a warning. One open to its group but not to everyone is left alone:
only an administrator gives that, on purpose (say, to a backup group).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite makes them with the database's mode


def private_folder(path: str | Path) -> None:
    """Make the folder ``path`` (and its parents) owner-only, or tighten it if it exists."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    tighten(path)


def private_file(path: str | Path) -> None:
    """Create the file ``path`` empty and owner-only if it is missing, else tighten it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:  # no such folder, or not ours to write: whoever opens it will say
        return
    tighten(path)


def private_sqlite(path: str | Path) -> None:
    """Make a SQLite database owner-only, with the companion files it already has."""
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            tighten(companion)


def tighten(path: str | Path) -> None:
    """Make ``path`` owner-only if every user has some access to it, saying so in the log."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o007:
            os.chmod(path, mode & 0o700)
            log.warning(
                "%s was open to every user (mode %o); it is now %o.", path, mode, mode & 0o700
            )
    except OSError as error:
        log.warning("Could not make %s private: %s", path, error)
