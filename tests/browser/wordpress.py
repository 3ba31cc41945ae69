"""A real WordPress for the browser tests: Debian's package, served by ``php -S`` on 127.0.0.1.

Each session copies /usr/share/wordpress (Debian's ``wordpress`` package, 6.1, with its
``wordpress-theme-twentytwentythree``) into a tmp folder and writes its own ``wp-config.php``
there: Debian's reads /etc/wordpress/config-HOST.php, which we leave alone. The database is a
fresh one on this machine's MariaDB (127.0.0.1:3306, root, no password), dropped at teardown.
WordPress is installed from the command line with ``wp_install()`` (no web installer), then
served by ``php -S`` on a free port. The only change to WordPress is the must-use plugin
``wordpress/loopback.php``, which lets its HTTP API fetch 127.0.0.1 on any port, as oEmbed
discovery of the vswidget server needs. The PHP helpers in ``wordpress/`` run in WordPress's
context through ``php``.

Without php, WordPress, the theme or MariaDB, the tests that use ``wordpress`` skip; under
CI=true they fail (``make test`` installs the packages).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from live import free_port

from .helpers import Server, unavailable, wait_answering

WORDPRESS = Path("/usr/share/wordpress")
THEME = WORDPRESS / "wp-content" / "themes" / "twentytwentythree"
HELPERS = Path(__file__).with_name("wordpress")
INSTALL_HINT = (
    "make test installs it (apt-get install --no-install-recommends "
    "wordpress php-cli php-mysql wordpress-theme-twentytwentythree)"
)
PHP_TIMEOUT = 60  # seconds any one helper script may take
START_TIMEOUT = 20  # seconds for `php -S` to answer
HTTP_TIMEOUT = 30  # seconds for a page: rendering a new embed fetches the oEmbed first
WORKERS = 4  # `php -S` processes: the browser's requests do not queue behind a slow page
SALTS = [
    f"{kind}_{what}"
    for kind in ("AUTH", "SECURE_AUTH", "LOGGED_IN", "NONCE")
    for what in ("KEY", "SALT")
]


@dataclass(frozen=True)
class Post:
    """A published post: its id, its permalink and its content as WordPress stored it."""

    id: int
    url: str
    content: str


@dataclass
class WordPress:
    """The running WordPress: publish posts as its users, read pages, run PHP inside it."""

    base: str
    root: Path
    database: str
    passwords: dict[str, str]  # login -> password: "admin" (Administrator), "writer" (Author)
    version: str  # WordPress's own, e.g. "6.1.9"
    log: Path  # what `php -S` printed
    env: dict[str, str] = field(default_factory=dict)  # WP_ROOT and WP_BASE, for the helpers

    def run(self, script: str, stdin: str = "") -> str:
        """Run ``wordpress/SCRIPT`` with php in this WordPress; return what it printed."""
        return _run(script, self.env, stdin)

    def php(self, code: str) -> str:
        """Run PHP statements (no ``<?php``) with WordPress loaded; return what they echo."""
        return self.run("run.php", code)

    def post(self, content: str, *, author: str = "admin", title: str = "An embed") -> Post:
        """Publish a post as ``author``, whose capabilities kses applies, as in the editor."""
        answer = json.loads(
            self.run("post.php", json.dumps({"content": content, "title": title, "author": author}))
        )
        return Post(id=int(answer["id"]), url=answer["url"], content=answer["content"])

    def render(self, post: Post) -> str:
        """The HTML of the post's page, as a visitor gets it."""
        answer = httpx.get(post.url, timeout=HTTP_TIMEOUT)
        answer.raise_for_status()
        return answer.text

    def oembed_cache(self, post: Post) -> dict[str, str]:
        """The post's ``_oembed_*`` meta: WordPress's cache of the embeds it fetched."""
        cache = json.loads(
            self.php(
                f"$meta = get_post_meta({post.id});"
                "echo wp_json_encode((object) array_map(fn ($values) => $values[0],"
                " array_filter($meta, fn ($key) => str_starts_with($key, '_oembed_'),"
                " ARRAY_FILTER_USE_KEY)));"
            )
        )
        return dict(cache)

    def delete_oembed_cache(self, post: Post) -> None:
        """Forget the embeds cached for the post: its next render fetches them again."""
        self.php(f"$GLOBALS['wp_embed']->delete_oembed_caches({post.id});")


def embed_block(url: str) -> str:
    """An Embed block for ``url``, as the block editor saves it."""
    return (
        f'<!-- wp:embed {{"url":"{url}","type":"rich","providerNameSlug":"vswidget"}} -->\n'
        '<figure class="wp-block-embed is-type-rich is-provider-vswidget '
        'wp-block-embed-vswidget"><div class="wp-block-embed__wrapper">\n'
        f"{url}\n"
        "</div></figure>\n"
        "<!-- /wp:embed -->"
    )


def paragraph(text: str) -> str:
    """A paragraph block holding ``text`` (a URL alone in it auto-embeds)."""
    return f"<!-- wp:paragraph -->\n<p>{text}</p>\n<!-- /wp:paragraph -->"


# -- the fixture -----------------------------------------------------------------


@pytest.fixture(scope="session")
def wordpress(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    """Debian's WordPress 6.1 on 127.0.0.1, installed afresh, with users admin and writer.

    It needs the vswidget server running before it starts and until it stops, hence ``server``.
    """
    _require_packages()
    folder = tmp_path_factory.mktemp("wordpress")
    root = folder / "wordpress"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = f"vswidget_wp_{secrets.token_hex(4)}"
    _copy(root)
    _write_config(root, base, database)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WP_")} | {
        "WP_ROOT": str(root),
        "WP_BASE": base,
    }
    _database("create", database, env)
    try:
        passwords = {"admin": secrets.token_hex(12), "writer": secrets.token_hex(12)}
        installed = json.loads(
            _run(
                "install.php",
                dict(
                    env,
                    WP_ADMIN_PASSWORD=passwords["admin"],
                    WP_WRITER_PASSWORD=passwords["writer"],
                ),
            )
        )
        site = WordPress(
            base, root, database, passwords, installed["version"], folder / "php-s.log", env
        )
        with site.log.open("w") as log:
            process = subprocess.Popen(
                ["php", "-d", "display_errors=0", "-d", "log_errors=1"]
                + ["-S", f"127.0.0.1:{port}", "-t", str(root)],
                cwd=root,
                env=env | {"PHP_CLI_SERVER_WORKERS": str(WORKERS)},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its workers share its process group, stopped together
            )
        try:
            wait_answering(f"{base}/wp-login.php", process, site.log, "php -S", START_TIMEOUT)
            yield site
        finally:
            _stop(process)
    finally:
        _database("drop", database, env)


def _require_packages() -> None:
    if shutil.which("php") is None:
        unavailable(f"php is missing: {INSTALL_HINT}")
    if not (WORDPRESS / "wp-settings.php").is_file():
        unavailable(f"Debian's WordPress is missing from {WORDPRESS}: {INSTALL_HINT}")
    if not THEME.is_dir():
        unavailable(f"The theme Twenty Twenty-Three is missing from {THEME}: {INSTALL_HINT}")


def _copy(root: Path) -> None:
    """Copy Debian's WordPress, symlinks kept as symlinks, each still pointing where it did.

    Some of Debian's links are relative (wp-includes/ID3/*.php -> ../../../php/getid3/...,
    wp-includes/js/underscore*.js, wp-includes/js/crop/*): in a copy they would point nowhere,
    so they are made absolute.
    """
    shutil.copytree(WORDPRESS, root, symlinks=True)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            link = Path(folder, name)
            if not link.is_symlink() or os.path.isabs(target := os.readlink(link)):
                continue
            original = WORDPRESS / link.parent.relative_to(root)
            link.unlink()
            link.symlink_to(os.path.normpath(original / target))
    mu_plugins = root / "wp-content" / "mu-plugins"
    mu_plugins.mkdir()
    shutil.copy(HELPERS / "loopback.php", mu_plugins / "loopback.php")


def _write_config(root: Path, base: str, database: str) -> None:
    """Our wp-config.php in place of Debian's, which reads /etc/wordpress/config-HOST.php."""

    def define(name: str, value: str | bool) -> str:
        php = ("true" if value else "false") if isinstance(value, bool) else _php_string(value)
        return f"define( '{name}', {php} );"

    lines = [
        "<?php",
        "// Written by tests/browser/wordpress.py for one test session.",
        define("DB_NAME", database),
        define("DB_USER", "root"),
        define("DB_PASSWORD", ""),
        define("DB_HOST", "127.0.0.1"),
        define("DB_CHARSET", "utf8mb4"),
        define("DB_COLLATE", ""),
        *(define(salt, secrets.token_hex(32)) for salt in SALTS),
        define("WP_HOME", base),
        define("WP_SITEURL", base),
        # Debian's default is /var/lib/wordpress/wp-content; the copy holds its own, themes too.
        "define( 'WP_CONTENT_DIR', __DIR__ . '/wp-content' );",
        define("WP_CONTENT_URL", f"{base}/wp-content"),
        define("WP_DEBUG", False),
        define("DISABLE_WP_CRON", True),
        define("AUTOMATIC_UPDATER_DISABLED", True),
        "$table_prefix = 'wp_';",
        "if ( ! defined( 'ABSPATH' ) ) {",
        "\tdefine( 'ABSPATH', __DIR__ . '/' );",
        "}",
        "require_once ABSPATH . 'wp-settings.php';",
    ]
    (root / "wp-config.php").write_text("\n".join(lines) + "\n")


def _run(script: str, env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        ["php", "-d", "display_errors=stderr", str(HELPERS / script)],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=PHP_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"php {script} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _database(action: str, name: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        ["php", str(HELPERS / "database.php"), action, name],
        env=env,
        capture_output=True,
        text=True,
        timeout=PHP_TIMEOUT,
        check=False,
    )
    if done.returncode == 3:
        unavailable(done.stderr.strip())
    if done.returncode != 0:
        pytest.fail(f"Could not {action} the database {name}:\n{done.stderr}", pytrace=False)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop ``php -S`` and its workers: its own process group, started for it alone."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
