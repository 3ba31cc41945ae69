"""The Python SDK: publish and manage comparisons over the REST API.

Documents are validated offline with the server's own schema before they are
sent. Every failure raises a ``VSWidgetError`` subclass carrying the server's
message and field errors; a server that cannot be reached or does not answer in
time raises ``ConnectionFailed``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from .document import Comparison
from .errors import ConnectionFailed, NotFound, VSWidgetError, causes_first, error_for_status

__all__ = [
    "Client",
    "LiveStats",
    "Published",
    "Segment",
    "Signup",
    "Stats",
    "Summary",
    "Webhook",
]

SEGMENT_KINDS = ("sources", "devices", "browsers")


@dataclass(frozen=True)
class Published:
    """Where a published comparison lives and how to embed it."""

    slug: str
    token: str
    snippet: str
    iframe_url: str
    url: str
    height: int
    created: bool = False


@dataclass(frozen=True)
class Summary:
    """One comparison in ``Client.list()``."""

    slug: str
    title: str
    votes: int
    created_at: str
    updated_at: str
    url: str


@dataclass(frozen=True)
class Signup:
    """A reader who signed up for your newsletter, and through which comparison."""

    email: str
    comparison: str | None
    created_at: str


@dataclass(frozen=True)
class Webhook:
    """Where sign-ups are delivered, and the secret that signs each delivery: ``whsec_...``,
    what a Standard Webhooks library takes to verify one."""

    url: str
    secret: str


@dataclass(frozen=True)
class Segment:
    """One source (the referrer's domain, "" for none), device class or browser family
    over a range; ``value`` None sums the values past the top ones."""

    value: str | None
    impressions: int
    views: int
    votes: int
    clicks: int
    signups: int
    share: int | None  # whole percent of the views of its kind; None without views


@dataclass(frozen=True)
class Stats:
    """A comparison's figures over a range of days (see ``Client.stats``)."""

    since: str
    until: str
    totals: dict[str, int]
    rates: dict[str, int | None]
    days: list[dict[str, Any]]
    pages: list[dict[str, Any]]  # one page of the host pages, busiest first
    other_pages: dict[str, int]  # the host pages past a day's cap, counted together
    dropped: dict[str, int]  # events never stored: over_budget, other_host
    items: dict[str, dict[str, int]]
    # The previous period of the same length: since, until, totals, rates.
    previous: dict[str, Any] = field(default_factory=dict)
    pages_total: int = 0  # how many host pages there are in the range
    # The top ones by views, then the others (Segment.value None); of one host page
    # when ``Client.stats`` was given ``host_page``.
    sources: list[Segment] = field(default_factory=list)
    devices: list[Segment] = field(default_factory=list)
    browsers: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class LiveStats:
    """A comparison's figures over the last minutes, from the newest events (see
    ``Client.live``); times are ISO 8601 UTC."""

    since: str
    until: str
    totals: dict[str, int]
    rates: dict[str, int | None]
    minutes: list[dict[str, Any]]  # one a minute, oldest first, each with its start
    previous: dict[str, Any]  # the same number of minutes before: since, until, totals, rates


class Client:
    """A publisher's connection to a vswidget server.

    ``Client("https://vs.example.com", "vsw_...")``; use it as a context manager
    or call ``close()`` to release its connections.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + "/api/v1",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def publish(self, comparison: Comparison | Mapping[str, Any]) -> Published:
        """Create or replace a comparison (by slug) and return how to embed it."""
        document = _document(comparison)
        response = self._request("PUT", f"/comparisons/{document['slug']}", json=document)
        return _published(response.json()["embed"], created=response.status_code == 201)

    def get(self, slug: str) -> Comparison:
        """Return one of your comparisons with its computed fields and ``etag``."""
        response = self._request("GET", f"/comparisons/{slug}")
        comparison = Comparison.from_served(response.json())
        comparison.etag = response.headers.get("ETag")
        return comparison

    def replace(self, comparison: Comparison | Mapping[str, Any], etag: str) -> Published:
        """Replace a comparison only if it is still at ``etag`` (else PreconditionFailed)."""
        document = _document(comparison)
        response = self._request(
            "PUT", f"/comparisons/{document['slug']}", json=document, headers={"If-Match": etag}
        )
        return _published(response.json()["embed"])

    def list(self) -> list[Summary]:
        """Return all your comparisons, by slug."""
        return list(self.iter())

    def iter(self, page_size: int = 100) -> Iterator[Summary]:
        """Yield all your comparisons, by slug, fetching a page at a time."""
        for entry in self._pages("/comparisons", page_size):
            yield Summary(**entry)

    def stats(
        self,
        slug: str,
        since: date | str | None = None,
        until: date | str | None = None,
        *,
        page: int = 1,
        page_size: int = 20,
        host_page: str | None = None,
    ) -> Stats:
        """Return a comparison's impressions, views, votes, clicks and sign-ups, with one
        page of its host pages (``page`` from 1, ``page_size`` up to 100), and its top
        sources, devices and browsers: of every host page, or of the one whose URL is
        ``host_page``.

        ``since`` and ``until`` (dates or YYYY-MM-DD, both included) default to the
        30 days that end today.
        """
        params = {**_range(since, until), "page": str(page), "page_size": str(page_size)}
        if host_page is not None:
            params["host_page"] = host_page
        response = self._request("GET", f"/comparisons/{slug}/stats", params=params)
        total = json.loads(response.headers.get("X-Pagination", "{}")).get("total", 0)
        body = response.json()
        sources, devices, browsers = (
            [Segment(**row) for row in body.pop(kind)] for kind in SEGMENT_KINDS
        )
        return Stats(**body, pages_total=total, sources=sources, devices=devices, browsers=browsers)

    def live(self, slug: str, minutes: int = 30) -> LiveStats:
        """Return a comparison's figures over the last ``minutes`` (1 to 60) up to now,
        per minute, and over the same number of minutes before."""
        params = {"minutes": str(minutes)}
        response = self._request("GET", f"/comparisons/{slug}/stats/live", params=params)
        return LiveStats(**response.json())

    def host_pages(
        self,
        slug: str,
        since: date | str | None = None,
        until: date | str | None = None,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Yield every host page of a comparison over the range, busiest first, fetching
        a page at a time."""
        path = f"/comparisons/{slug}/stats"
        yield from self._pages(path, page_size, _range(since, until), lambda body: body["pages"])

    def signups(self, slug: str | None = None) -> builtins.list[Signup]:
        """Return your newsletter sign-ups, newest first; with ``slug``, those of one comparison."""
        path = f"/comparisons/{slug}/signups" if slug else "/signups"
        return [Signup(**entry) for entry in self._pages(path, 1000)]

    def forget(self, email: str) -> int:
        """Delete every sign-up of an address (any letter case); return how many there were."""
        path = f"/signups/{quote(email, safe='@')}"
        deleted: int = self._request("DELETE", path).json()["deleted"]
        return deleted

    def set_webhook(self, url: str) -> Webhook:
        """Deliver each new sign-up to ``url`` as a signed JSON POST."""
        return Webhook(**self._request("PUT", "/webhook", json={"url": url}).json())

    def webhook(self) -> Webhook | None:
        """Return your webhook, or None when you have none."""
        try:
            return Webhook(**self._request("GET", "/webhook").json())
        except NotFound:
            return None

    def delete_webhook(self) -> None:
        """Stop delivering sign-ups to your webhook."""
        self._request("DELETE", "/webhook")

    def _pages(
        self,
        path: str,
        page_size: int,
        params: Mapping[str, str] | None = None,
        rows: Callable[[Any], builtins.list[dict[str, Any]]] = lambda body: body,
    ) -> Iterator[dict[str, Any]]:
        """Yield the rows of every page of a paged answer (``rows`` finds them in a body)."""
        page = 1
        while True:
            query = {**(params or {}), "page": page, "page_size": page_size}
            response = self._request("GET", path, params=query)
            yield from rows(response.json())
            pagination = json.loads(response.headers.get("X-Pagination", "{}"))
            if page >= pagination.get("last_page", page):
                return
            page += 1

    def delete(self, slug: str) -> None:
        """Delete a comparison, its votes and its embed token."""
        self._request("DELETE", f"/comparisons/{slug}")

    def embed(self, slug: str) -> Published:
        """Return how to embed a comparison: snippet, token and URLs."""
        return _published(self._request("GET", f"/comparisons/{slug}/embed").json())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise ConnectionFailed(
                f"The vswidget server at {self.base_url} did not answer in time."
            ) from error
        except httpx.TransportError as error:
            raise ConnectionFailed(
                f"Could not reach the vswidget server at {self.base_url}: {error}."
            ) from error
        if response.is_error:
            raise _error(response)
        return response


def _range(since: date | str | None, until: date | str | None) -> dict[str, str]:
    return {k: str(v) for k, v in (("since", since), ("until", until)) if v is not None}


def _document(comparison: Comparison | Mapping[str, Any]) -> dict[str, Any]:
    """Return a validated document, raising the server's ValidationError offline."""
    if isinstance(comparison, Comparison):
        return comparison.validate().to_dict()
    return Comparison.from_dict(comparison).to_dict()


def _published(embed: dict[str, Any], created: bool = False) -> Published:
    return Published(**embed, created=created)


def _error(response: httpx.Response) -> VSWidgetError:
    """Return the error the server described, as its VSWidgetError subclass."""
    cls = error_for_status(response.status_code)
    try:
        body = response.json()["error"]
        # JSON sorts the fields by name; put an unknown field first again, as the message does.
        error = cls(body["message"], causes_first(body.get("fields") or {}))
    except (ValueError, KeyError, TypeError):
        error = cls(f"The server answered {response.status_code} {response.reason_phrase}.")
    error.status = response.status_code
    return error
