"""Run the app under gunicorn, the same way in development and in production.

Each worker process also runs background threads (see jobs.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


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

    def load(self) -> Flask:
        from .app import create_app
        from .jobs import Jobs

        app = create_app()
        Jobs(app).start()  # webhooks and rollups; claims and leases keep workers apart
        return app


def run(host: str, port: int, workers: int, threads: int) -> None:
    """Serve until interrupted; SIGHUP reloads workers gracefully."""
    Server(
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": "-",
            "graceful_timeout": 20,
            "forwarded_allow_ips": "127.0.0.1,::1",
        }
    ).run()
