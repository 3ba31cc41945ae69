"""`vswidget serve --demo`: the README's first command, run as a real process."""

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_demo_migrates_publishes_and_prints_what_to_open(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VSWIDGET_") and key != "XDG_RUNTIME_DIR"
    } | {"VSWIDGET_INSTANCE_PATH": str(tmp_path / "instance"), "HOME": str(home)}
    vswidget = Path(sys.executable).with_name("vswidget")
    process = subprocess.Popen(
        [str(vswidget), "serve", "--demo", "--port", str(port)],
        env=env,
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
