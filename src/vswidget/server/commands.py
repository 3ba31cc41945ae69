"""The server's commands of ``vswidget``: serve, db, publisher.

``vswidget.cli`` loads this module only when one of them runs, so that the client
commands and ``vswidget --help`` need nothing of the server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from . import store
from .app import create_app
from .extensions import db as database


@contextmanager
def app_context() -> Iterator[Flask]:
    """Run the block in a new app's context; a database error becomes one sentence."""
    app = create_app()
    try:
        with app.app_context():
            yield app
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().split("\n")[0]
        hint = ""
        if "no such table" in reason or "does not exist" in reason:
            hint = " Run `vswidget db upgrade` first."
        raise click.ClickException(f"The database cannot be used: {reason}.{hint}") from error
    finally:
        database.dispose(app)


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; beyond loopback, only behind a reverse proxy.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    envvar="VSWIDGET_PORT",
    help="Port to listen on (or set VSWIDGET_PORT).",
)
@click.option("--workers", default=1, show_default=True, help="gunicorn worker processes.")
@click.option(
    "--threads",
    default=16,
    show_default=True,
    help="Threads per worker (a request waiting for its write to commit holds one).",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Write an access log line per request to stdout (with the client's address).",
)
@click.option(
    "--demo", is_flag=True, help="Publish a demo comparison; print a demo API key and password."
)
def serve(host: str, port: int, workers: int, threads: int, access_log: bool, demo: bool) -> None:
    """Serve vswidget with gunicorn, applying migrations first."""
    from .limit_storage import limit_storage_warnings
    from .migrations import upgrade
    from .serving import bare_public_bind_warning, listen, run

    with app_context() as app:
        warning = bare_public_bind_warning(host, app.config["TRUSTED_PROXIES"])
        if warning:
            click.echo(warning, err=True)
        listener = listen(host, port)  # a busy port stops here, before anything is printed
        if app.config["AUTO_MIGRATE"]:
            upgrade(app.config["DATABASE_URL"])
        base = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{port}"
        click.echo(f"vswidget {__version__} on {base}  (database: {_safe_url(app)})")
        click.echo(f"  REST API   {base}/api/v1/comparisons")
        click.echo(f"  OpenAPI    {base}/api/v1/openapi.json")
        click.echo(f"  health     {base}/healthz")
        click.echo(f"  ready      {base}/readyz")
        if demo:
            from .demo import DEMO_HANDLE, publish_demo

            published = publish_demo()
            slug = published.slug
            os.environ["VSWIDGET_DEMO"] = "true"  # the workers serve /demo
            click.echo(f"\nDemo comparison '{slug}' published by publisher '{DEMO_HANDLE}':")
            click.echo(f"  blog post  {base}/demo")
            click.echo(f"  page       {base}/c/{DEMO_HANDLE}/{slug}")
            click.echo(f"  oEmbed     {base}/oembed?url={base}/c/{DEMO_HANDLE}/{slug}")
            click.echo(
                f"  dashboard  {base}/dashboard/   (log in as '{DEMO_HANDLE}', "
                f"password {published.password})"
            )
            click.echo(
                f"  CLI        export VSWIDGET_URL={base} VSWIDGET_API_KEY={published.api_key}"
            )
            click.echo(f"  snippet    vswidget snippet {slug}   (paste it into any page)")
        else:
            click.echo(
                f"  dashboard  {base}/dashboard/   (log in as a publisher: "
                "`vswidget publisher password HANDLE` sets its password)"
            )
        if workers > 1 and app.config["CACHE_URL"].startswith("simple:"):
            click.echo(
                "Note: with several workers and the in-process cache, a change reaches "
                "every worker within 5 minutes; set VSWIDGET_CACHE_URL=redis://... to "
                "make it immediate.",
                err=True,
            )
        for warning in limit_storage_warnings(
            app.config["CACHE_URL"], app.config["RATELIMIT_STORAGE_URL"]
        ):
            click.echo(f"Warning: {warning}", err=True)
        click.echo("")
    run(listener, workers, threads, access_log)


def _safe_url(app: Flask) -> str:
    return make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """Manage the database."""


@db.command()
def upgrade() -> None:
    """Apply every migration not yet applied."""
    from .migrations import upgrade as run_upgrade

    with app_context() as app:
        run_upgrade(app.config["DATABASE_URL"])
        click.echo(f"Database is up to date: {_safe_url(app)}")


@click.group()
def publisher() -> None:
    """Manage publishers and their API keys."""


@publisher.command("create")
@click.argument("handle")
def publisher_create(handle: str) -> None:
    """Create a publisher; print its API key once, alone on the last line."""
    with app_context():
        created, key = store.create_publisher(handle)
        click.echo(f"Publisher '{created.handle}' created. Its API key, shown only this once:")
        click.echo(key)


@publisher.command("list")
def publisher_list() -> None:
    """List publishers and how many active keys each has."""
    with app_context():
        for each in store.list_publishers():
            active = sum(1 for key in each.api_keys if key.revoked_at is None)
            click.echo(f"{each.handle}\t{active} active key{'s' if active != 1 else ''}")


@publisher.command("keys")
@click.argument("handle")
def publisher_keys(handle: str) -> None:
    """List a publisher's API keys by prefix."""
    with app_context():
        for key in store.list_api_keys(handle):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            click.echo(f"{key.prefix}…\tcreated {key.created_at:%Y-%m-%d}\t{state}")


@publisher.command("add-key")
@click.argument("handle")
def publisher_add_key(handle: str) -> None:
    """Issue another API key; print it once, alone on the last line."""
    with app_context():
        key = store.issue_api_key(handle)
        click.echo(f"New API key for '{handle}', shown only this once:")
        click.echo(key)


@publisher.command("password")
@click.argument("handle")
@click.password_option(help="The new password (asked for twice when not given).")
def publisher_password(handle: str, password: str) -> None:
    """Set the password HANDLE logs into the dashboard with."""
    with app_context():
        store.set_password(handle, password)
        click.echo(f"Password set for '{handle}': log in at /dashboard/login.")


@publisher.command("revoke-key")
@click.argument("prefix")
def publisher_revoke_key(prefix: str) -> None:
    """Revoke the API key that starts with PREFIX."""
    with app_context():
        key = store.revoke_api_key(prefix.rstrip("…"))
        click.echo(f"Revoked {key.prefix}… of '{key.publisher.handle}'.")


COMMANDS: dict[str, click.Command] = {"serve": serve, "db": db, "publisher": publisher}
