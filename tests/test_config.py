"""Settings: defaults that need nothing running, the instance folder, VSWIDGET_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from vswidget import ConfigurationError, create_app
from vswidget.config import SETTINGS, from_environ


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
