"""Rate-limit counters in the worker's memory (``memory://``), swept once a second.

limits' MemoryStorage starts a thread 10 ms after a hit that walks every counter it
holds and drops those past their window; under steady traffic that is a new thread and
a walk of every reader's counters each 10 ms. Under event batches from many readers the
walk and the threads held the GIL for about 5 % of a worker's time. A counter past its
window is dropped when it is next read either way (``MemoryStorage.get``), so sweeping
once a second only keeps the memory of idle readers' counters a second longer.
"""

from __future__ import annotations

import threading

from limits.storage import MemoryStorage

SWEEP_EVERY = 1.0  # seconds between two walks of the counters
SCHEME = "vswidget-memory"


class MemoryCounters(MemoryStorage):
    """MemoryStorage whose sweeps come SWEEP_EVERY seconds apart, on a daemon thread."""

    STORAGE_SCHEME = [SCHEME]  # limits registers the class under it

    def _MemoryStorage__schedule_expiry(self) -> None:  # MemoryStorage's own hook
        if not self.timer.is_alive():
            sweep = self._MemoryStorage__expire_events  # type: ignore[attr-defined]
            self.timer = threading.Timer(SWEEP_EVERY, sweep)
            self.timer.daemon = True
            self.timer.start()


def storage_uri(url: str) -> str:
    """Return the storage URI for Flask-Limiter of a ``RATELIMIT_STORAGE_URL`` setting:
    in memory, these counters; any other, as it is."""
    return f"{SCHEME}://" if url.startswith("memory://") else url
