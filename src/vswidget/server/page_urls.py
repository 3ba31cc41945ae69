"""A host page's URL as events store it: its origin and path, nothing more."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit


class HostPage(NamedTuple):
    """The page an event happened on, as stored: its origin and path, and its host name."""

    origin: str  # scheme://host[:port], never the user:password@ a URL may carry
    path: str
    host: str


def host_page(url: str) -> HostPage | None:
    """Return the host page an http(s) URL names, without query and fragment; None for
    any other URL."""
    try:  # ValueError: a port out of range, a broken [IPv6] host
        page = urlsplit(url)
        port = page.port
    except ValueError:
        return None
    if page.scheme not in {"http", "https"} or not page.hostname:
        return None
    origin = f"{page.scheme}://{page.hostname}{f':{port}' if port else ''}"[:255]
    return HostPage(origin, (page.path or "/")[:1000], page.hostname)
