"""`vswidget serve`, run as a real process: the README's first command, and what it says
when it would face readers without a reverse proxy."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vswidget.server import bare_public_bind_warning


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


VSWIDGET = str(Path(sys.executable).with_name("vswidget"))


def serve_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a server of its own: its instance folder and home, no settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VSWIDGET_") and key != "XDG_RUNTIME_DIR"
    } | {"VSWIDGET_INSTANCE_PATH": str(tmp_path / "instance"), "HOME": str(tmp_path / "home")}


def test_serve_demo_migrates_publishes_and_prints_what_to_open(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    process = subprocess.Popen(
        [VSWIDGET, "serve", "--demo", "--port", str(port)],
        env=serve_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    assert process.stdout is not None
    try:
        printed = []
        for line in process.stdout:  # the URLs and key come before gunicorn starts
            printed.append(line)
            if "VSWIDGET_API_KEY=" in line:
                break
        output = "".join(printed)
        key = re.search(r"VSWIDGET_API_KEY=(vsw_\S+)", output)
        slug = re.search(r"Demo comparison '([a-z0-9-]+)'", output)
        assert key and slug, output
        assert f"{base}/api/v1/openapi.json" in output
        assert f"{base}/readyz" in output
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.2)
        demo = httpx.get(
            f"{base}/api/v1/comparisons/{slug[1]}",
            headers={"Authorization": f"Bearer {key[1]}"},
        )
        assert demo.status_code == 200
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        page = re.search(r"page\s+(http://\S+)", output)
        assert page, output
        assert demo.json()["title"] in httpx.get(page[1]).text
        # Signals run it: no gunicorn control socket, which other instances would share.
        assert not (home / ".gunicorn").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert (tmp_path / "instance" / "vswidget.sqlite3").exists()
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("host", "trusted_proxies", "warned"),
    [
        ("127.0.0.1", 0, False),
        ("127.0.0.2", 0, False),
        ("::1", 0, False),
        ("::ffff:127.0.0.1", 0, False),
        ("localhost", 0, False),
        ("0.0.0.0", 0, True),
        ("::", 0, True),
        ("192.0.2.10", 0, True),
        ("2001:db8::10", 0, True),
        ("vs.example.com", 0, True),  # a name may resolve to any address
        ("0.0.0.0", 1, False),  # behind a proxy, as configuration.md shows
    ],
)
def test_a_bind_beyond_loopback_without_a_proxy_is_warned_of(
    host: str, trusted_proxies: int, warned: bool
) -> None:
    assert (bare_public_bind_warning(host, trusted_proxies) is not None) == warned


def test_serve_on_every_interface_without_a_proxy_says_it_must_sit_behind_one(
    tmp_path: Path,
) -> None:
    # The port is taken on 127.0.0.1, so the server never listens beyond this machine:
    # it warns as it starts, then gunicorn gives up binding.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = subprocess.Popen(
            [VSWIDGET, "serve", "--host", "0.0.0.0", "--port", str(port)],
            env=serve_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, stopped whole below
        )
        assert process.stderr is not None
        try:
            said = ""
            for line in process.stderr:  # ends when gunicorn gives up binding, at the latest
                if line.startswith("Warning:"):
                    said = line.strip()
                    break
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=30)
    assert said == bare_public_bind_warning("0.0.0.0", 0)
    assert "reverse proxy" in said and "VSWIDGET_TRUSTED_PROXIES=1" in said
