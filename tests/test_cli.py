"""The vswidget command: server-side administration and the publisher's client commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from flask import Flask
from helpers import SECRET

from vswidget.cli import main


def run(runner: CliRunner, *args: str, **kwargs: Any) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False, **kwargs)


def assert_one_sentence_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def key(runner: CliRunner) -> str:
    result = run(runner, "publisher", "create", "acme")
    assert result.exit_code == 0
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def client_env(live_server: str, key: str) -> dict[str, str]:
    return {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": key}


@pytest.fixture
def folder(tmp_path: Path, document: dict[str, Any]) -> Path:
    folder = tmp_path / "comparisons"
    (folder / "drinks").mkdir(parents=True)
    (folder / "kettle.yaml").write_text(yaml.safe_dump(document))
    (folder / "drinks" / "tea.yml").write_text(
        yaml.safe_dump({**document, "slug": "tea-vs-coffee"})
    )
    (folder / "notes.txt").write_text("not a comparison")
    return folder


def test_publisher_create_prints_the_key_alone_on_its_last_line(runner: CliRunner) -> None:
    result = run(runner, "publisher", "create", "acme")
    assert result.exit_code == 0
    last = result.stdout.splitlines()[-1]
    assert last.startswith("vsw_") and " " not in last


def test_creating_a_publisher_twice_is_one_sentence(runner: CliRunner, key: str) -> None:
    assert_one_sentence_error(run(runner, "publisher", "create", "acme"), "'acme' exists already")


def test_a_bad_handle_is_one_sentence(runner: CliRunner) -> None:
    assert_one_sentence_error(run(runner, "publisher", "create", "Not Valid"), "handle")


def test_keys_are_listed_by_prefix_added_and_revoked(runner: CliRunner, key: str) -> None:
    second = run(runner, "publisher", "add-key", "acme").stdout.splitlines()[-1]
    listed = run(runner, "publisher", "keys", "acme").stdout
    assert key[:12] in listed and second[:12] in listed and key not in listed
    revoked = run(runner, "publisher", "revoke-key", key[:12])
    assert revoked.exit_code == 0 and "Revoked" in revoked.stdout
    lines = run(runner, "publisher", "keys", "acme").stdout.splitlines()
    assert "revoked" in lines[0] and "active" in lines[1]
    assert "acme\t1 active key" in run(runner, "publisher", "list").stdout


def test_db_upgrade_creates_the_tables_and_can_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSWIDGET_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    monkeypatch.setenv("VSWIDGET_SECRET_KEYS", SECRET)
    runner = CliRunner()
    for _ in range(2):
        result = run(runner, "db", "upgrade")
        assert result.exit_code == 0 and "up to date" in result.stdout
    assert run(runner, "publisher", "create", "acme").exit_code == 0


def test_an_unreachable_database_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSWIDGET_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("VSWIDGET_SECRET_KEYS", SECRET)
    assert_one_sentence_error(run(CliRunner(), "publisher", "list"), "The database cannot be used")


def test_push_creates_every_file_of_a_folder_then_changes_nothing(
    runner: CliRunner, client_env: dict[str, str], folder: Path
) -> None:
    first = run(runner, "push", str(folder), env=client_env)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"created        tea-vs-coffee  ({folder / 'drinks' / 'tea.yml'})",
        f"created        kettle-vs-moka-pot  ({folder / 'kettle.yaml'})",
        "2 created, 0 changed, 0 unchanged.",
    ]
    assert first.stderr == ""
    second = run(runner, "push", str(folder), env=client_env)
    assert "0 created, 0 changed, 2 unchanged." in second.stdout


def test_push_dry_run_lists_what_would_change_and_sends_nothing(
    runner: CliRunner, client_env: dict[str, str], folder: Path, document: dict[str, Any]
) -> None:
    run(runner, "push", str(folder / "kettle.yaml"), env=client_env)
    (folder / "kettle.yaml").write_text(
        yaml.safe_dump({**document, "title": "Kettle vs Moka, revised"})
    )
    dry = run(runner, "push", "--dry-run", str(folder), env=client_env)
    assert dry.exit_code == 0
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("would create") and "tea-vs-coffee" in lines[0]
    assert lines[1].startswith("would change") and "kettle-vs-moka-pot" in lines[1]
    assert lines[-1] == "1 would be created, 1 would be changed, 0 unchanged."
    listed = run(runner, "list", env=client_env).stdout
    assert "tea-vs-coffee" not in listed and "Kettle vs Moka, revised" not in listed
    real = run(runner, "push", str(folder), env=client_env)
    assert "1 created, 1 changed, 0 unchanged." in real.stdout
    assert "Kettle vs Moka, revised" in run(runner, "list", env=client_env).stdout


def test_push_refuses_everything_when_one_file_is_bad(
    runner: CliRunner, client_env: dict[str, str], folder: Path, document: dict[str, Any]
) -> None:
    document["items"][1]["url"] = "javascript:alert(1)"
    (folder / "bad.json").write_text(__import__("json").dumps(document))
    result = run(runner, "push", str(folder), env=client_env)
    assert_one_sentence_error(result, "bad.json", "items.1.url", "http")
    assert "No comparisons yet" in run(runner, "list", env=client_env).stdout


def test_push_refuses_two_files_with_one_slug(
    runner: CliRunner, client_env: dict[str, str], folder: Path
) -> None:
    (folder / "copy.yaml").write_text((folder / "kettle.yaml").read_text())
    assert_one_sentence_error(
        run(runner, "push", str(folder), env=client_env), "kettle-vs-moka-pot"
    )


def test_push_reports_every_bad_file_and_publishes_none(
    runner: CliRunner, client_env: dict[str, str], folder: Path
) -> None:
    good = (folder / "kettle.yaml").read_text()
    bad = {
        "typo.yaml": good.replace("title:", "titel:"),
        "price.yaml": good.replace("price: $30", "price: 9"),
        "indent.yaml": good.replace("\nitems:\n", "\nitems:\n   oops: 1\n"),
        "url.yaml": good.replace("https://example.com/moka", "javascript:alert(1)"),
        "list.yaml": "- not\n- an object\n",
        "broken.json": '{"slug": ',
    }
    for name, text in bad.items():
        (folder / "bad" / name).parent.mkdir(exist_ok=True)
        (folder / "bad" / name).write_text(text)
    result = run(runner, "push", str(folder), env=client_env)
    assert result.exit_code == 1 and result.stdout == ""
    first, *lines = result.stderr.strip().splitlines()
    assert first == "Error: Nothing was sent; fix these 6 problems first:"
    assert sorted(line.split(":")[0] for line in lines) == sorted(
        str(folder / "bad" / name) for name in bad
    )
    for cause in ('did you mean "title"?', "found a number (9)", "not valid YAML", "URL"):
        assert any(cause in line for line in lines), cause
    assert "No comparisons yet" in run(runner, "list", env=client_env).stdout


def test_push_with_a_wrong_key_prints_only_the_error(
    runner: CliRunner, live_server: str, app: Flask, folder: Path
) -> None:
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": "vsw_bad"}
    assert_one_sentence_error(run(runner, "push", str(folder), env=env), "API key")


def test_push_to_a_server_that_is_down_prints_only_the_error(
    runner: CliRunner, folder: Path
) -> None:
    env = {"VSWIDGET_URL": "http://127.0.0.1:1", "VSWIDGET_API_KEY": "vsw_key"}
    result = run(runner, "push", str(folder), env=env)
    assert_one_sentence_error(result, "Could not reach the vswidget server")


def test_push_of_a_missing_path_is_one_sentence(
    runner: CliRunner, client_env: dict[str, str], tmp_path: Path
) -> None:
    result = run(runner, "push", str(tmp_path / "nowhere.yaml"), env=client_env)
    assert_one_sentence_error(result, "nowhere.yaml", "no such file")


def test_list_snippet_get_and_delete(
    runner: CliRunner, client_env: dict[str, str], folder: Path, document: dict[str, Any]
) -> None:
    run(runner, "push", str(folder), env=client_env)
    listed = run(runner, "list", env=client_env).stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["kettle-vs-moka-pot", "tea-vs-coffee"]
    snippet = run(runner, "snippet", "kettle-vs-moka-pot", env=client_env).stdout
    assert snippet.startswith('<div class="vswidget" data-vswidget="')
    fetched = yaml.safe_load(run(runner, "get", "kettle-vs-moka-pot", env=client_env).stdout)
    assert fetched["title"] == document["title"] and "votes" not in fetched
    deleted = run(runner, "delete", "tea-vs-coffee", env=client_env, input="y\n")
    assert deleted.exit_code == 0 and "Deleted 'tea-vs-coffee'." in deleted.stdout
    assert run(runner, "delete", "--yes", "kettle-vs-moka-pot", env=client_env).exit_code == 0
    assert_one_sentence_error(
        run(runner, "snippet", "kettle-vs-moka-pot", env=client_env), "no comparison with the slug"
    )


def test_declining_the_delete_prompt_keeps_the_comparison(
    runner: CliRunner, client_env: dict[str, str], folder: Path
) -> None:
    run(runner, "push", str(folder / "kettle.yaml"), env=client_env)
    result = run(runner, "delete", "kettle-vs-moka-pot", env=client_env, input="n\n")
    assert result.exit_code == 1
    assert "kettle-vs-moka-pot" in run(runner, "list", env=client_env).stdout


def test_client_commands_need_an_api_key(runner: CliRunner) -> None:
    result = run(runner, "list")
    assert result.exit_code == 2
    assert "--api-key or VSWIDGET_API_KEY" in result.stderr


def test_a_wrong_api_key_is_one_sentence(runner: CliRunner, live_server: str, app: Flask) -> None:
    result = run(runner, "list", env={"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": "vsw_bad"})
    assert_one_sentence_error(result, "not valid")


def test_a_server_that_is_down_is_one_sentence(runner: CliRunner) -> None:
    env = {"VSWIDGET_URL": "http://127.0.0.1:1", "VSWIDGET_API_KEY": "vsw_key"}
    assert_one_sentence_error(run(runner, "list", env=env), "Could not reach the vswidget server")


def test_a_setting_that_cannot_be_read_is_one_sentence(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSWIDGET_MAX_BODY_BYTES", "lots")
    assert_one_sentence_error(run(runner, "publisher", "list"), "VSWIDGET_MAX_BODY_BYTES='lots'")


def test_an_unmigrated_database_says_to_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSWIDGET_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("VSWIDGET_SECRET_KEYS", SECRET)
    assert_one_sentence_error(run(CliRunner(), "publisher", "list"), "vswidget db upgrade")
