"""Settings: defaults that need nothing running, the instance folder, VSWIDGET_* variables."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vswidget import ConfigurationError
from vswidget.server import create_app, store
from vswidget.server.config import SETTINGS, from_environ
from vswidget.server.extensions import db
from vswidget.server.migrations import upgrade


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for setting in SETTINGS:
        monkeypatch.delenv(f"VSWIDGET_{setting.name}", raising=False)
    monkeypatch.setenv("VSWIDGET_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def test_by_default_the_database_is_sqlite_in_the_instance_folder(instance: Path) -> None:
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'vswidget.sqlite3'}"
    assert app.config["CACHE_URL"] == "simple://"


def test_a_secret_key_is_made_once_in_the_instance_folder(instance: Path) -> None:
    first = create_app().config["SECRET_KEYS"]
    second = create_app().config["SECRET_KEYS"]
    assert first == second and len(first) == 1 and len(first[0]) >= 32
    assert (instance / "secret_keys").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("short", ["k", "test-secret-key", "é" * 15 + "x"])  # the last: 31 bytes
def test_a_secret_key_shorter_than_32_bytes_is_refused_at_start(
    instance: Path, monkeypatch: pytest.MonkeyPatch, short: str
) -> None:
    good = "a-good-key-of-at-least-thirty-two-bytes"
    monkeypatch.setenv("VSWIDGET_SECRET_KEYS", f"{good},{short}")
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    sentence = refused.value.message
    assert "VSWIDGET_SECRET_KEYS" in sentence and "shorter than 32 bytes" in sentence
    assert "secrets.token_urlsafe(32)" in sentence and good not in sentence
    assert create_app({"SECRET_KEYS": [good, "é" * 16]}).config["SECRET_KEYS"][0] == good


def test_a_short_key_in_the_instance_folder_is_refused_too(instance: Path) -> None:
    instance.mkdir()
    (instance / "secret_keys").write_text("short-key\n")
    with pytest.raises(ConfigurationError, match="secret_keys file"):
        create_app()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that keeps nothing private, as a careless service manager may set."""
    before = os.umask(0)
    yield
    os.umask(before)


def test_the_instance_folder_its_keys_and_database_are_owner_only(
    instance: Path, open_umask: None
) -> None:
    app = create_app()
    upgrade(app.config["DATABASE_URL"])  # as vswidget serve does
    with app.app_context():
        store.create_publisher("acme")  # a write: the -wal and -shm files exist now
        files = {path.name: mode(path) for path in instance.iterdir()}
    db.dispose(app)
    assert mode(instance) == 0o700
    assert files == {
        "secret_keys": 0o600,
        "vswidget.sqlite3": 0o600,
        "vswidget.sqlite3-wal": 0o600,
        "vswidget.sqlite3-shm": 0o600,
        "vswidget.sqlite3-writers.lock": 0o600,
    }


def test_world_readable_ones_are_made_owner_only_at_start(instance: Path) -> None:
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    keys, database, wal = (
        instance / name for name in ("secret_keys", "v.sqlite3", "v.sqlite3-wal")
    )
    keys.write_text("a-good-key-of-at-least-thirty-two-bytes\n")
    for path in (keys, database, wal):
        path.touch()
        path.chmod(0o644)
    shared_with_backups = instance / "backup.sqlite3"
    shared_with_backups.touch()
    shared_with_backups.chmod(0o640)
    for url in (f"sqlite:///{database}", f"sqlite:///{shared_with_backups}"):
        db.dispose(create_app({"DATABASE_URL": url}))
    assert [mode(path) for path in (instance, keys, database, wal)] == [0o700, 0o600, 0o600, 0o600]
    assert mode(shared_with_backups) == 0o640  # open to its group on purpose: left alone


def test_environment_variables_override_the_instance_file(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance.mkdir()
    (instance / "vswidget.cfg").write_text(
        "PUBLIC_URL = 'https://from-file.example'\nMAX_BODY_BYTES = 4096\n"
    )
    monkeypatch.setenv("VSWIDGET_PUBLIC_URL", "https://from-env.example")
    app = create_app()
    assert app.config["PUBLIC_URL"] == "https://from-env.example"
    assert app.config["MAX_BODY_BYTES"] == 4096


def test_test_config_overrides_everything(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSWIDGET_PUBLIC_URL", "https://from-env.example")
    assert (
        create_app({"PUBLIC_URL": "https://test.example"}).config["PUBLIC_URL"]
        == "https://test.example"
    )


def test_secret_keys_are_a_comma_separated_list_oldest_first() -> None:
    parsed = from_environ({"VSWIDGET_SECRET_KEYS": "old, new ,", "VSWIDGET_MAX_BODY_BYTES": "1024"})
    assert parsed == {"SECRET_KEYS": ["old", "new"], "MAX_BODY_BYTES": 1024}


def test_every_setting_has_help() -> None:
    assert all(setting.help.endswith(".") for setting in SETTINGS)


def test_a_relative_instance_path_is_taken_from_the_working_folder(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(instance.parent)
    monkeypatch.setenv("VSWIDGET_INSTANCE_PATH", "relative-instance")
    assert create_app().instance_path == str(instance.parent / "relative-instance")


def test_a_rate_limit_that_cannot_be_read_stops_the_app(instance: Path) -> None:
    with pytest.raises(ConfigurationError, match="VSWIDGET_VOTE_RATE_LIMIT='thirty a minute'"):
        create_app({"VOTE_RATE_LIMIT": "thirty a minute"})


def test_a_cache_url_of_no_known_kind_stops_the_app(instance: Path) -> None:
    with pytest.raises(ConfigurationError, match="VSWIDGET_CACHE_URL must be simple://"):
        create_app({"CACHE_URL": "foo://"})
