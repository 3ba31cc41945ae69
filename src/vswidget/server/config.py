"""Every setting: its name, its default and one line of help.

Settings are read in this order, each overriding the one before: the defaults
below, ``vswidget.cfg`` in the instance folder, ``VSWIDGET_*`` environment
variables, then the ``config`` mapping given to ``create_app``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .private_files import private_folder, tighten


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the database; default: SQLite file vswidget.sqlite3 "
        "in the instance folder.",
    ),
    Setting(
        "CACHE_URL",
        "simple://",
        "Cache: simple:// (in-process), redis://host:port/db, or null:// to disable.",
    ),
    Setting(
        "RATELIMIT_STORAGE_URL",
        "memory://",
        "Rate-limit counters: memory:// (in-process) or redis://host:port/db.",
    ),
    Setting(
        "CACHE_MAX_BYTES",
        32 * 1024 * 1024,
        "Most memory the in-process cache (simple://) takes in each worker, in bytes; "
        "the least recently used entries go first.",
        int,
    ),
    Setting("VOTE_RATE_LIMIT", "30/minute;300/day", "Votes one address may cast."),
    Setting("SIGNUP_RATE_LIMIT", "10/minute;100/day", "Sign-ups one address may send."),
    Setting(
        "EVENT_RATE_LIMIT",
        "600/minute",
        "Analytics batches one address may send; the events of further ones are dropped "
        "and counted.",
    ),
    Setting(
        "AUTH_FAILURE_RATE_LIMIT",
        "20/minute;200/day",
        "Failed API key authentications one address may make before the publisher API "
        "answers it 429; requests with a valid key are not counted.",
    ),
    Setting(
        "LOGIN_FAILURE_RATE_LIMIT",
        "10/minute;100/day",
        "Failed dashboard logins one address may make; beyond, every login from it, even "
        "with the right password, answers 429 until the window ends. Counted in the database.",
    ),
    Setting(
        "READ_RATE_LIMIT",
        "600/minute",
        "Payload and page reads one address may make of each kind, counting those the "
        "server builds or checks (cache misses, batches it assembles, reads with other "
        "parameters); reads answered from the cache are not counted.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "How many reverse proxies in front of vswidget set X-Forwarded-For; "
        "the reader's address is read behind that many.",
        int,
    ),
    Setting(
        "IPV6_PREFIX",
        64,
        "Leading bits of an IPv6 address that name one reader for the rate limits and the "
        "visitor hash (64: one /64, what one subscriber is usually given); IPv4 readers "
        "count per address.",
        int,
    ),
    Setting(
        "PASSWORD_HASH",
        "scrypt",
        "How dashboard passwords are hashed: a werkzeug method such as scrypt or "
        "pbkdf2:sha256:600000; hashes made before a change keep working.",
    ),
    Setting(
        "WEBHOOK_RETRY_SECONDS",
        30.0,
        "Wait before the first retry of a failed webhook delivery; doubles each time, "
        "up to 6 hours. The publisher's other deliveries wait too, doubling with its "
        "failures in a row.",
        float,
    ),
    Setting(
        "EVENT_RETENTION_DAYS",
        30,
        "Days raw analytics events are kept; their daily rollups are kept for good.",
        int,
    ),
    Setting(
        "ROLLUP_SECONDS",
        10.0,
        "How often a server counts the events stored since the last rollup into the "
        "dashboard's and the stats' figures.",
        float,
    ),
    Setting(
        "EVENT_ADDRESS_BUDGET",
        2000,
        "Analytics events one address may send a day; further ones are dropped and counted.",
        int,
    ),
    Setting(
        "EVENT_COMPARISON_BUDGET",
        100_000,
        "Analytics events one comparison may store a day; further ones are dropped and counted.",
        int,
    ),
    Setting(
        "EVENT_PAGES_PER_DAY",
        200,
        "Host pages one comparison's events are listed under a day; the events of further "
        "pages are counted under other pages.",
        int,
    ),
    Setting(
        "WEBHOOK_ALLOW_PRIVATE",
        False,
        "Deliver webhooks to loopback and private-network addresses too (for tests and "
        "single-tenant installs); off, a publisher cannot make the server call its own network.",
        _bool,
    ),
    Setting(
        "SECRET_KEYS",
        None,
        "Comma-separated signing keys, oldest first: the last signs, all verify. "
        "Default: a key generated once into the instance folder.",
        _keys,
    ),
    Setting(
        "PUBLIC_URL",
        None,
        "Public base URL used in snippets and links, e.g. https://vs.example.com; "
        "default: the URL of the incoming request.",
    ),
    Setting(
        "MAX_BODY_BYTES",
        512 * 1024,
        "Largest request body accepted, in bytes; larger bodies get 413.",
        int,
    ),
    Setting(
        "DEMO",
        False,
        "Serve /demo, a sample blog post embedding the demo comparison (set by serve --demo).",
        _bool,
    ),
    Setting(
        "AUTO_MIGRATE",
        True,
        "Apply database migrations when `vswidget serve` starts.",
        _bool,
    ),
)

SETTING_NAMES = frozenset(setting.name for setting in SETTINGS)
ENV_PREFIX = "VSWIDGET_"
SECRET_KEYS_FILE = "secret_keys"
MIN_SECRET_KEY_BYTES = 32  # what secrets.token_urlsafe(32) gives, in 43 characters


def defaults() -> dict[str, Any]:
    """Return the default value of every setting."""
    return {setting.name: setting.default for setting in SETTINGS}


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the settings given as ``VSWIDGET_*`` variables, parsed.

    Raises ConfigurationError naming the variable whose value cannot be read.
    """
    settings = {}
    for setting in SETTINGS:
        name = ENV_PREFIX + setting.name
        if name in environ:
            try:
                settings[setting.name] = setting.parse(environ[name])
            except ValueError:
                raise ConfigurationError(
                    f"{name}={environ[name]!r} cannot be read: {setting.help}"
                ) from None
    return settings


def instance_secret_keys(instance_path: str) -> list[str]:
    """Return the keys kept in the instance folder, creating one on first use."""
    path = Path(instance_path) / SECRET_KEYS_FILE
    private_folder(path.parent)
    if not path.exists():
        # Written aside then linked into place, so that workers starting at the
        # same moment all end up reading the one complete key file.
        draft = path.with_name(f".{SECRET_KEYS_FILE}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    tighten(path)
    return _keys(path.read_text().replace("\n", ","))


def check_secret_keys(keys: list[str]) -> None:
    """Refuse, with one sentence, a key list that holds a key too short to sign with."""
    if any(len(key.encode()) < MIN_SECRET_KEY_BYTES for key in keys):
        raise ConfigurationError(
            f"VSWIDGET_SECRET_KEYS (or the instance folder's {SECRET_KEYS_FILE} file) holds a "
            f"key shorter than {MIN_SECRET_KEY_BYTES} bytes; make each key with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"`.'
        )


def default_database_url(instance_path: str) -> str:
    """Return the URL of the SQLite database in the instance folder."""
    return "sqlite:///" + str(Path(instance_path) / "vswidget.sqlite3")
