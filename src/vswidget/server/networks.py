"""A reader's address as the rate limits and the visitor hash count it: an IPv4 address
alone, an IPv6 address by its network.

One IPv6 subscriber is routinely given a whole /64 (often a /56 or /48): counted per
address, one machine could vote from 2^64 of them. ``IPV6_PREFIX`` (default 64) says how
many leading bits name one reader.
"""

from __future__ import annotations

import functools
import ipaddress

from flask import current_app, request


def reader_address() -> str:
    """Return the address the current request is counted under (behind TRUSTED_PROXIES)."""
    return counted_address(request.remote_addr or "127.0.0.1", current_app.config["IPV6_PREFIX"])


@functools.lru_cache(maxsize=4096)
def counted_address(address: str, ipv6_prefix: int) -> str:
    """Return ``address`` as it is counted: an IPv6 one as its ``/ipv6_prefix`` network
    (an IPv4-mapped one as its IPv4 address), anything else unchanged."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])  # "%": a link-local zone
    except ValueError:
        return address
    if ip.version == 4:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
