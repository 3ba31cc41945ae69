"""Per-address rate limits of the readers' endpoints: votes, sign-ups and events.

These are the busiest requests. Flask-Limiter resolves every kind of limit it knows for
each request (decorated, blueprint, default, meta, their exemptions and deductions), and
on a vote that cost more than the vote's SQL. The readers' limits are simpler, a few
rates per address (an IPv6 reader's per network, see networks.py), so they are counted
here, with Flask-Limiter's own strategy and storage (the limits library): in the same
place, memory or Redis, and answered with the same headers (X-RateLimit-Limit,
-Remaining, -Reset and Retry-After).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from flask import Response, after_this_request, current_app, request
from limits import RateLimitItem, parse_many

from ..errors import RateLimited
from .extensions import limiter
from .networks import reader_address
from .redis_settings import WARN_EVERY

View = TypeVar("View", bound=Callable[..., Any])
log = logging.getLogger(__name__)
_storage_warned = [float("-inf")]  # when the last storage failure was logged (monotonic)


class Window(NamedTuple):
    """Where a reader stands in the tightest of an endpoint's limits."""

    limit: RateLimitItem
    remaining: int
    reset: int  # when the window ends, in seconds since the epoch


_LIMITED_HERE: set[Callable[..., Any]] = set()  # the views per_address wraps


@limiter.request_filter
def _limited_here() -> bool:
    """Flask-Limiter passes over the views limited here: they count for themselves."""
    return current_app.view_functions.get(request.endpoint or "") in _LIMITED_HERE


@functools.lru_cache(maxsize=16)
def _rates(text: str) -> list[RateLimitItem]:
    return parse_many(text)


def per_address(setting: str) -> Callable[[View], View]:
    """Limit a view to the rates of ``config[setting]`` ("30/minute;300/day") per reader
    address; over any of them, answer 429 with Retry-After."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if not limiter.enabled:
                return view(*args, **kwargs)
            refused, window = _hit(_rates(current_app.config[setting]))
            if window is not None:
                after_this_request(functools.partial(_add_headers, window))
            if refused:
                raise RateLimited()
            return view(*args, **kwargs)

        _LIMITED_HERE.add(limited)
        return limited  # type: ignore[return-value]

    return decorate


def allows(setting: str) -> bool:
    """Count this request against the rates of ``config[setting]`` per reader address and
    say whether it is within them, for a view that must answer either way."""
    if not limiter.enabled:
        return True
    refused, _ = _hit(_rates(current_app.config[setting]), windows=False)
    return not refused


def _hit(rates: list[RateLimitItem], windows: bool = True) -> tuple[bool, Window | None]:
    """Count the request against each rate; return whether one refuses it, and (with
    ``windows``: a read of the storage per rate) the window with the fewest requests left.
    When the storage fails, the request goes through."""
    strategy = limiter.limiter
    scope = request.endpoint or ""
    address = reader_address()
    refused, tightest = False, None
    try:
        for rate in rates:
            refused = not strategy.hit(rate, scope, address) or refused
            if not windows:
                continue
            reset, remaining = strategy.get_window_stats(rate, scope, address)
            if tightest is None or remaining < tightest.remaining:
                tightest = Window(rate, remaining, int(reset))
    except Exception as error:  # noqa: BLE001 - Redis down: readers are not refused for it
        now = time.monotonic()
        if now - _storage_warned[0] >= WARN_EVERY:  # once a minute, not once a request
            _storage_warned[0] = now
            log.warning("The rate limits' storage failed; readers are let through: %s", error)
        return False, None
    return refused, tightest


def _add_headers(window: Window, response: Response) -> Response:
    response.headers["X-RateLimit-Limit"] = str(window.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(window.remaining)
    response.headers["X-RateLimit-Reset"] = str(window.reset)
    response.headers["Retry-After"] = str(max(window.reset - int(time.time()), 0))
    return response
