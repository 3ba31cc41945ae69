"""The public bases whose payloads are cached: no request header may choose cache keys.

With PUBLIC_URL there is one base. Without it, a payload's URLs follow each request's
Host (or a trusted proxy's X-Forwarded-Host), and so does its cache key: each process
then caches the payloads of the first MAX_BASES bases it sees, as many as the names a
server without PUBLIC_URL is reached by (127.0.0.1, localhost, its LAN address), and
builds those of any other base on every read, keeping nothing; the log says so once.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

MAX_BASES = 4

log = logging.getLogger(__name__)


class KnownBases:
    """The bases one app caches payloads for, taken in first come, at most MAX_BASES."""

    def __init__(self) -> None:
        self._bases: set[str] = set()
        self._lock = threading.Lock()
        self._refused = False  # whether the log has said so

    def admit(self, base: str) -> bool:
        """Say whether payloads for ``base`` may be cached, taking it in while there is room."""
        if base in self._bases:
            return True
        with self._lock:
            if len(self._bases) < MAX_BASES:
                self._bases.add(base)
                return True
            if not self._refused:
                self._refused = True
                log.warning(
                    "Payloads for %r are built on every read, not cached: this process caches "
                    "those of %d other hosts already. Set VSWIDGET_PUBLIC_URL.",
                    base,
                    MAX_BASES,
                )
        return False


def init_app(app: Flask) -> None:
    app.extensions["vswidget.bases"] = KnownBases()


def admit(base: str) -> bool:
    """Say whether the current app may cache payloads for ``base``."""
    bases: KnownBases = current_app.extensions["vswidget.bases"]
    return bases.admit(base)
