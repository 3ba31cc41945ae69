"""Requests to URLs a publisher chose: to public addresses only, the very ones checked.

The URL's host name is resolved once, and every address it resolves to must be
public, the IPv4 addresses embedded in IPv6 ones included. The connection then goes
to a checked address, while the Host header and TLS (the name sent as SNI and the
certificate's check) keep the name. Letting the HTTP client resolve the name again
would let an answer that changes in between (DNS rebinding) reach the server's own
network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from types import TracebackType
from typing import Any

import httpx

Address = IPv4Address | IPv6Address

# The last 32 bits are an IPv4 address: IPv4-mapped, IPv4-compatible, IPv4-translated,
# NAT64's well-known prefix.
IPV4_IN_LAST_BITS = tuple(
    IPv6Network(prefix) for prefix in ("::ffff:0:0/96", "::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# NAT64 for local use (RFC 8215): where the IPv4 part sits depends on the network's
# prefix length, and no public receiver lives there.
LOCAL_NAT64 = IPv6Network("64:ff9b:1::/48")


class Refused(Exception):
    """A URL that must not be called; the message says why."""


def embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """Return the IPv4 addresses an IPv6 address carries (6to4, Teredo's server and client too)."""
    in_last_bits = any(address in prefix for prefix in IPV4_IN_LAST_BITS)
    found = [IPv4Address(int(address) & 0xFFFFFFFF)] if in_last_bits else []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def public(address: Address) -> bool:
    """Say whether ``address`` is public, and so is every IPv4 address it embeds."""
    if isinstance(address, IPv6Address):
        if address in LOCAL_NAT64 or not all(map(public, embedded_ipv4(address))):
            return False
    return address.is_global


def checked_addresses(url: httpx.URL, allow_private: bool) -> list[Address]:
    """Return the addresses of the URL's host, resolved once; raise Refused if one is not public."""
    host = url.raw_host.decode("ascii")
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as failure:
        raise Refused(f"cannot resolve {host}") from failure
    addresses = list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    )
    for address in addresses:
        if not allow_private and not public(address):
            raise Refused(f"{host} resolves to {address}, a non-public address")
    return addresses


def pinned_post(
    client: httpx.Client, url: httpx.URL, address: Address, content: str, headers: dict[str, str]
) -> httpx.Request:
    """Return a POST to ``url`` that connects to ``address``; Host and TLS keep the name."""
    return client.build_request(
        "POST",
        url.copy_with(host=str(address)),
        content=content,
        headers={**headers, "Host": url.netloc.decode("ascii")},
        extensions={"sni_hostname": url.raw_host.decode("ascii")},
    )


def post(
    client: httpx.Client,
    url: str,
    content: str,
    headers: dict[str, str],
    allow_private: bool,
    deadline: float,
) -> int:
    """POST to ``url`` at an address checked once, within ``deadline`` seconds; return the status.

    Raises Refused, or httpx.HTTPError when no address answered in time. The next
    address is tried only when one refuses the connection, as a browser would. The
    response's body is never read.
    """
    target = httpx.URL(url)
    failure: httpx.ConnectError | None = None
    with Deadline(deadline) as limit:
        for address in checked_addresses(target, allow_private):
            request = pinned_post(client, target, address, content, headers)
            request.extensions["trace"] = limit.trace
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError as error:
                failure = error
                continue
            response.close()
            return response.status_code
    assert failure is not None  # getaddrinfo gives at least one address or fails
    raise failure


class Deadline:
    """Ends an HTTP exchange after ``seconds`` however slowly the other side trickles.

    httpx's timeouts bound each read, so a receiver sending a byte every few seconds
    would never meet them. Given as the request's ``trace`` extension, this holds a
    duplicate of the connection's socket and shuts it down when time is up.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """Follow httpcore's progress: hold each new connection's socket."""
        if event == "connection.connect_tcp.complete":
            with self._lock:
                self._close()
                self._socket = info["return_value"].get_extra_info("socket").dup()
                if self._expired:
                    self._shut()

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # the other side may have gone already
                self._socket.shutdown(socket.SHUT_RDWR)

    def _close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._close()
