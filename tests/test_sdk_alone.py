"""The SDK without the server, and a server worker without what only the CLI needs.

Each case runs in a fresh Python, where a module can be made missing (as if its extra
were not installed) without uninstalling anything.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import vswidget
from vswidget import cli

SERVER = frozenset(
    {
        "alembic",
        "cachetools",
        "crawlerdetect",
        "email_validator",
        "flask",
        "flask_caching",
        "flask_limiter",
        "flask_smorest",
        "gunicorn",
        "itsdangerous",
        "limits",
        "psycopg",
        "redis",
        "sqlalchemy",
        "werkzeug",
    }
)
# The modules of vswidget the SDK and the CLI load.
SDK = {
    "vswidget",
    "vswidget.changes",
    "vswidget.cli",
    "vswidget.client",
    "vswidget.document",
    "vswidget.errors",
    "vswidget.fields",
    "vswidget.schemas",
    "vswidget.stats_tables",
}
# Makes the named top-level modules missing, as when their extra is not installed.
BLOCKER = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
"""


def python(
    code: str, *, blocked: frozenset[str] = frozenset(), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter that imports this checkout's vswidget."""
    source = Path(vswidget.__file__).parents[1]
    return subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=set(blocked)) + code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(source), **(env or {})},
    )


def loaded(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Return the modules loaded once ``code`` has run."""
    done = python(f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))", env=env)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_sdk_and_the_cli_load_nothing_of_the_server() -> None:
    modules = loaded("from vswidget import Client, Comparison\nimport vswidget.cli")
    assert {name.split(".")[0] for name in modules} & SERVER == set()
    assert {name for name in modules if name.startswith("vswidget")} == SDK


def test_the_sdk_validates_a_document_with_the_server_missing(
    tmp_path: Path, document: dict[str, object]
) -> None:
    path = tmp_path / "kettle.yaml"
    path.write_text(yaml.safe_dump(document))
    done = python(
        f"from vswidget import Comparison\nprint(Comparison.from_file({str(path)!r}).slug)",
        blocked=SERVER,
    )
    assert (done.returncode, done.stdout.strip()) == (0, document["slug"]), done.stderr


def test_help_lists_the_server_commands_without_loading_the_server() -> None:
    done = python(
        "import json, sys\nfrom vswidget.cli import main\n"
        "main(['--help'], standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)))",
        blocked=SERVER,
    )
    assert done.returncode == 0, done.stderr
    *help_text, modules = done.stdout.splitlines()
    for name, short_help in cli.SERVER_COMMANDS.items():
        assert f"  {name:<9}  {short_help}" in help_text
    assert {name for name in json.loads(modules) if name.startswith("vswidget")} == SDK


def test_the_help_listed_for_each_server_command_is_its_own() -> None:
    from vswidget.server.commands import COMMANDS

    assert {name: command.get_short_help_str(100) for name, command in COMMANDS.items()} == (
        cli.SERVER_COMMANDS
    )


def imported_modules(path: Path, package: str) -> set[str]:
    """Return every module a source file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            origin = ".".join(base[: len(base) - node.level + 1] if node.level else [])
            module = ".".join(part for part in (origin, node.module or "") if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_sdk_module_imports_the_server_and_the_cli_only_to_load_its_commands() -> None:
    root = Path(vswidget.__file__).parent
    modules = {path.stem: imported_modules(path, "vswidget") for path in root.glob("*.py")}
    assert set(modules) >= {name.removeprefix("vswidget.") for name in SDK - {"vswidget"}}
    reaching = {
        name: sorted(m for m in imported if m.split(".")[:2] == ["vswidget", "server"])
        for name, imported in modules.items()
    }
    assert reaching == {name: [] for name in modules} | {
        "cli": ["vswidget.server.commands", "vswidget.server.commands.COMMANDS"]
    }
    tree = ast.parse((root / "cli.py").read_text(encoding="utf-8"))
    loaders = [
        n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "server.commands"
    ]
    (loader,) = (
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "server_command"
    )
    assert len(loaders) == 1 and loaders[0] in ast.walk(loader)


@pytest.mark.parametrize(
    "command", [["serve"], ["db", "upgrade"], ["publisher", "create", "acme"]], ids=" ".join
)
def test_a_server_command_without_the_server_says_what_to_install(command: list[str]) -> None:
    done = python(f"from vswidget.cli import main\nmain({command!r})", blocked=SERVER)
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"Error: `vswidget {command[0]}` needs vswidget's server, ")
    assert line.endswith(": pip install 'vswidget[server]'.")


def test_a_postgresql_database_without_its_driver_names_the_postgresql_extra(
    tmp_path: Path,
) -> None:
    done = python(
        "from vswidget.cli import main\nmain(['publisher', 'list'])",
        blocked=frozenset({"psycopg"}),
        env={
            "VSWIDGET_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
            "VSWIDGET_INSTANCE_PATH": str(tmp_path),
        },
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Error: `vswidget publisher` needs vswidget's server, which is not installed "
        "(no module 'psycopg'): pip install 'vswidget[postgresql]'."
    ]


def test_a_worker_on_sqlite_loads_no_migration_tool_redis_http_client_or_postgresql(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "vswidget.sqlite3"
    shutil.copy(sqlite_template, database)
    modules = loaded(
        "from vswidget.server.serving import Server\n"
        "app = Server.__new__(Server).load()\n"  # what a gunicorn worker runs
        "ready = app.test_client().get('/readyz')\n"
        "assert ready.json['checks']['migrations'] == 'ok', ready.json",
        env={
            "VSWIDGET_DATABASE_URL": f"sqlite:///{database}",
            "VSWIDGET_INSTANCE_PATH": str(tmp_path),
        },
    )
    assert {name.split(".")[0] for name in modules} & {"alembic", "redis", "httpx"} == set()
    assert not {name for name in modules if name.startswith("sqlalchemy.dialects.postgresql")}


def test_a_worker_reads_votes_and_takes_events_without_the_orm(
    sqlite_template: Path, tmp_path: Path, document: dict[str, object]
) -> None:
    database = tmp_path / "vswidget.sqlite3"
    shutil.copy(sqlite_template, database)
    modules = loaded(
        "from vswidget.server import store\n"
        "from vswidget.server.serving import Server\n"
        "app = Server.__new__(Server).load()\n"  # what a gunicorn worker runs
        "client = app.test_client()\n"
        "with app.app_context():\n"
        "    _, key = store.create_publisher('acme')\n"
        f"published = client.post('/api/v1/comparisons', json={document!r},\n"
        "    headers={'Authorization': f'Bearer {key}'})\n"
        "token = published.json['embed']['token']\n"
        "payload = client.get(f'/v1/payload/{token}').json\n"
        "sent = {'Content-Type': 'text/plain;charset=UTF-8',\n"
        "    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36'}\n"
        "ballot = json.dumps({'ticket': payload['ticket'], 'item': 'moka'})\n"
        "assert client.post('/v1/votes', data=ballot, headers=sent).status_code == 200\n"
        "event = {'type': 'impression', 'token': token}\n"
        "batch = json.dumps({'page': 'https://blog.example/post', 'events': [event]})\n"
        "assert client.post('/v1/events', data=batch, headers=sent).status_code == 204\n",
        env={
            "VSWIDGET_DATABASE_URL": f"sqlite:///{database}",
            "VSWIDGET_INSTANCE_PATH": str(tmp_path),
        },
    )
    assert "sqlalchemy.orm" not in modules
