"""Run the app under gunicorn, the same way in development and in production.

Each worker process also runs background threads (see jobs.py).
"""

from __future__ import annotations

import errno
import gc
import ipaddress
import socket
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from ..errors import ConfigurationError

# How long a thread may keep the GIL while another waits for it (Python's default: 5 ms).
# A thread back from an event flush, which every waiting request of its worker depends on
# (gathering.py), would otherwise wait up to that long for a thread parsing a request:
# with 5 ms a worker stored fewer events a second (docs/performance.md, fifth round).
SWITCH_INTERVAL = 0.0005


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn serving ``create_app()``, one app per worker process."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)
        # gunicorn 25.1+ opens a control socket at one path per user, shared by every
        # instance on the host ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl).
        # vswidget is run with signals (SIGHUP reloads, SIGTERM stops): it opens none.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)
        self.cfg.set("pre_fork", share_with_workers)

    def load(self) -> Flask:
        from .app import create_app
        from .jobs import Jobs

        sys.setswitchinterval(SWITCH_INTERVAL)
        app = create_app()
        Jobs(app).start()  # webhooks and rollups; claims and leases keep workers apart
        return app


def share_with_workers(server: Any, worker: Any) -> None:
    """Keep what the master has loaded shared with the worker about to fork from it.

    ``vswidget serve`` loads the app in the master (to migrate) before any worker forks,
    so a worker starts with the master's modules in pages it shares. A collection in the
    worker would write to every object it visits and copy those pages into the worker's
    own memory; frozen objects are never visited (the ``gc.freeze`` documentation).
    """
    gc.freeze()


def listen(host: str, port: int) -> socket.socket:
    """Bind ``host:port`` and listen, for ``run`` to serve on; say in one sentence why not.

    Binding before anything is printed or started means a busy port is reported at
    once, and gunicorn takes over this very socket: nothing can take the port between.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"Port {port} on {host} is already in use, perhaps by another vswidget: "
                "stop it, or choose another port with --port, VSWIDGET_PORT or "
                "`make run PORT=8100`."
            ) from error
        raise ConfigurationError(
            f"Cannot listen on {host} port {port}: {error.strerror or error}."
        ) from error


def run(listener: socket.socket, workers: int, threads: int, access_log: bool = False) -> None:
    """Serve on ``listener`` until interrupted; SIGHUP reloads workers gracefully.

    gunicorn's access log (``access_log``: on stdout) names every reader's address, user
    agent and page, which vswidget itself never keeps: it is off unless asked for.
    """
    Server(
        {
            "bind": f"fd://{listener.fileno()}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": "-" if access_log else None,
            "graceful_timeout": 20,
            "forwarded_allow_ips": "127.0.0.1,::1",
        }
    ).run()


def bare_public_bind_warning(host: str, trusted_proxies: int) -> str | None:
    """Return what to say at start when readers may reach gunicorn itself, else None.

    That is a bind beyond loopback with no reverse proxy said to be in front
    (``TRUSTED_PROXIES`` 0). A gunicorn thread reads its request as the client sends
    it, so a few slow clients hold them all; a proxy that buffers request bodies does
    that waiting instead. A name other than localhost may resolve to any address.
    """
    if trusted_proxies or _is_loopback(host):
        return None
    return (
        f"Warning: listening on {host} with no reverse proxy set: vswidget must sit "
        "behind one that buffers request bodies (nginx does, Caddy with request_buffers), "
        "or a few slow clients can hold every thread; set VSWIDGET_TRUSTED_PROXIES=1 to "
        "say there is one (docs/deploy.md)."
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback
