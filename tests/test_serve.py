"""`vswidget serve`, run as a real process: the README's first command, and what it says
when it would face readers without a reverse proxy."""

from __future__ import annotations

import gc
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from live import free_port, wait_until_healthy

from vswidget.cli import main
from vswidget.server.serving import Server, bare_public_bind_warning, share_with_workers

VSWIDGET = str(Path(sys.executable).with_name("vswidget"))


def serve_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a server of its own: its instance folder and home, no settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VSWIDGET_") and key != "XDG_RUNTIME_DIR"
    } | {"VSWIDGET_INSTANCE_PATH": str(tmp_path / "instance"), "HOME": str(tmp_path / "home")}


def read_until(process: subprocess.Popen[str], last: str) -> str:
    """What the server printed up to the line containing ``last`` (before gunicorn starts)."""
    assert process.stdout is not None
    printed = []
    for line in process.stdout:
        printed.append(line)
        if last in line:
            break
    return "".join(printed)


def log_in(dashboard: str, handle: str, password: str) -> bool:
    """Log into the dashboard through its form; return whether the overview then opens."""
    with httpx.Client(base_url=dashboard) as browser:
        form = browser.get("login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf, form
        browser.post("login", data={"csrf": csrf[1], "handle": handle, "password": password})
        return browser.get("", follow_redirects=False).status_code == 200


def test_serve_demo_migrates_publishes_and_prints_what_to_open(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    process = subprocess.Popen(
        [VSWIDGET, "serve", "--demo"],
        env=serve_env(tmp_path) | {"VSWIDGET_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        output = read_until(process, "VSWIDGET_API_KEY=")
        key = re.search(r"VSWIDGET_API_KEY=(vsw_\S+)", output)
        slug = re.search(r"Demo comparison '([a-z0-9-]+)'", output)
        login = re.search(
            r"dashboard  (http://\S+/dashboard/) .*as '(\w+)', password (\S+)\)", output
        )
        assert key and slug and login, output
        assert f"{base}/api/v1/openapi.json" in output
        assert f"{base}/readyz" in output
        wait_until_healthy(base)
        demo = httpx.get(
            f"{base}/api/v1/comparisons/{slug[1]}",
            headers={"Authorization": f"Bearer {key[1]}"},
        )
        assert demo.status_code == 200
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        page = re.search(r"page\s+(http://\S+)", output)
        assert page, output
        assert demo.json()["title"] in httpx.get(page[1]).text
        assert login[1] == f"{base}/dashboard/"
        assert log_in(login[1], login[2], login[3])
        # Signals run it: no gunicorn control socket, which other instances would share.
        assert not (home / ".gunicorn").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert (tmp_path / "instance" / "vswidget.sqlite3").exists()
    assert process.returncode == 0


def test_serve_without_demo_names_the_dashboard_and_how_to_get_a_password_but_no_secret(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [VSWIDGET, "serve", "--port", str(port)],
        env=serve_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = read_until(process, "dashboard")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/dashboard/" in output
    assert "`vswidget publisher password HANDLE`" in output
    assert "password " not in output.replace("publisher password", "")
    assert "vsw_" not in output


@pytest.mark.parametrize("asked", [False, True], ids=["by default", "with --access-log"])
def test_serve_logs_no_reader_request_unless_asked_to(tmp_path: Path, asked: bool) -> None:
    # gunicorn's access log names each reader's address, user agent and page.
    port = free_port()
    process = subprocess.Popen(
        [VSWIDGET, "serve", "--port", str(port), *(["--access-log"] if asked else [])],
        env=serve_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}")
        httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"User-Agent": "ReaderAgent/1.0"})
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert ("ReaderAgent/1.0" in output) is asked
    assert ('"GET /readyz HTTP/1.1" 200' in output) is asked


@pytest.mark.parametrize("choose", ["--port", "VSWIDGET_PORT"])
def test_serve_on_a_busy_port_says_so_in_one_sentence_before_printing_anything(
    tmp_path: Path, choose: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        by_option = ["--port", str(port)] if choose == "--port" else []
        by_setting = {"VSWIDGET_PORT": str(port)} if choose == "VSWIDGET_PORT" else {}
        done = subprocess.run(
            [VSWIDGET, "serve", "--demo", *by_option],
            env=serve_env(tmp_path) | by_setting,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"Error: Port {port} on 127.0.0.1 is already in use, perhaps by another vswidget: "
        "stop it, or choose another port with --port, VSWIDGET_PORT or `make run PORT=8100`."
    ]


def test_a_port_setting_that_is_no_port_is_a_usage_error() -> None:
    done = CliRunner().invoke(main, ["serve"], env={"VSWIDGET_PORT": "80000"})
    assert done.exit_code == 2
    assert (
        "Error: Invalid value for '--port': 80000 is not in the range 1<=x<=65535." in done.output
    )


def make_run_commands(port: str) -> str:
    """What `make run PORT=...` would run, with the test's venv (make -n installs nothing)."""
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["make", "-n", "run", f"VENV={venv}", f"PORT={port}"],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_run_passes_the_port_it_is_given_to_serve() -> None:
    serve = f"{Path(sys.executable).parent}/vswidget serve --demo"
    assert f"{serve} --port 8100\n" in make_run_commands("8100")
    assert f"{serve} \n" in make_run_commands("")  # VSWIDGET_PORT, else 8000


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
    # it warns as it starts, then says the port is taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [VSWIDGET, "serve", "--host", "0.0.0.0", "--port", str(port)],
            env=serve_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    said = done.stderr.splitlines()[0]
    assert said == bare_public_bind_warning("0.0.0.0", 0)
    assert "reverse proxy" in said and "VSWIDGET_TRUSTED_PROXIES=1" in said
    assert done.returncode == 1


def test_the_master_freezes_what_it_has_loaded_before_each_worker_forks() -> None:
    # Frozen objects are never visited by a worker's collections, so the pages holding
    # the modules the master loaded stay shared instead of being copied into each worker.
    server = Server({"workers": 2})
    assert server.cfg.pre_fork is share_with_workers
    frozen = gc.get_freeze_count()
    try:
        share_with_workers(None, None)
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
