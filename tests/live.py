"""The real server as a subprocess: ``vswidget serve`` under gunicorn on 127.0.0.1.

For the tests that need what only a real process shows: durability across SIGKILL,
several workers at once, webhook retries across a restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from helpers import CHEAP_PASSWORD_HASH

VSWIDGET = str(Path(sys.executable).with_name("vswidget"))
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(base: str) -> None:
    """Wait until the server at ``base`` answers /healthz, at most START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the server did not start within {START_TIMEOUT} s"
        time.sleep(0.2)


KEY = "live-test-key-of-at-least-32-bytes"  # what every LiveServer signs with


class LiveServer:
    """One vswidget server process; it can be stopped, killed and started again."""

    def __init__(self, folder: Path, workers: int = 2, **settings: str) -> None:
        self.folder = folder
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VSWIDGET_")} | {
            "VSWIDGET_INSTANCE_PATH": str(folder / "instance"),
            "VSWIDGET_SECRET_KEYS": KEY,
            "VSWIDGET_PUBLIC_URL": self.base,
            "VSWIDGET_PASSWORD_HASH": CHEAP_PASSWORD_HASH,
            **{f"VSWIDGET_{name}": value for name, value in settings.items()},
        }
        self.log = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        """Start the server and wait until /healthz answers."""
        command = [VSWIDGET, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--threads", "4"]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, for kill()
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"vswidget serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vswidget serve did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group at once: no clean shutdown of any worker."""
        assert self.process is not None
        os.killpg(os.getpgid(self.process.pid), signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), or kill after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def cli(self, *args: str) -> str:
        """Run a server-side vswidget command on this server's database; return its stdout."""
        done = subprocess.run(
            [VSWIDGET, *args], env=self.env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    def new_publisher(self, handle: str) -> str:
        """Create a publisher and return its API key."""
        return self.cli("publisher", "create", handle).strip().splitlines()[-1]
