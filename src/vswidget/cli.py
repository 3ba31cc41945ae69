"""The ``vswidget`` command. Errors print one sentence and exit non-zero, never a traceback.

The client commands need only the SDK; the server's commands import the server (the
``vswidget[server]`` extra) when they run, and say what to install when it is missing.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .client import Client
from .document import DOCUMENT_SUFFIXES, Comparison
from .errors import NotFound, ValidationError, VSWidgetError
from .fields import parse_day

if TYPE_CHECKING:
    from flask import Flask

F = TypeVar("F", bound=Callable[..., Any])
SERVER_COMMANDS = {"serve", "db", "publisher"}  # the ones that need vswidget[server]
# The extra that installs each module a server command may miss; any other: "server".
EXTRA_OF = {"psycopg": "postgresql", "redis": "redis"}


class Group(click.Group):
    """A click group that turns every VSWidgetError into one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VSWidgetError as error:
            raise click.ClickException(error.message) from error
        except ModuleNotFoundError as error:
            if ctx.invoked_subcommand not in SERVER_COMMANDS or not error.name:
                raise
            extra = EXTRA_OF.get(error.name.split(".")[0], "server")
            raise click.ClickException(
                f"`vswidget {ctx.invoked_subcommand}` needs vswidget's server, which is not "
                f"installed (no module {error.name!r}): pip install 'vswidget[{extra}]'."
            ) from error


@click.group(cls=Group)
@click.version_option(__version__, prog_name="vswidget")
def main() -> None:
    """Publish 'X vs Y' comparisons and serve their embeddable widgets."""


@contextmanager
def app_context() -> Iterator[Flask]:
    """Run the block in a new app's context; a database error becomes one sentence."""
    from sqlalchemy.exc import SQLAlchemyError

    from .server.app import create_app
    from .server.extensions import db

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
        db.dispose(app)


# -- server side -------------------------------------------------------------


@main.command()
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
@click.option("--threads", default=4, show_default=True, help="Threads per worker.")
@click.option(
    "--demo", is_flag=True, help="Publish a demo comparison; print a demo API key and password."
)
def serve(host: str, port: int, workers: int, threads: int, demo: bool) -> None:
    """Serve vswidget with gunicorn, applying migrations first."""
    from .server.limit_storage import limit_storage_warnings
    from .server.migrations import upgrade
    from .server.serving import bare_public_bind_warning, listen, run

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
            from .server.demo import DEMO_HANDLE, publish_demo

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
    run(listener, workers, threads)


def _safe_url(app: Flask) -> str:
    from sqlalchemy.engine import make_url

    return make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)


@main.group()
def db() -> None:
    """Manage the database."""


@db.command()
def upgrade() -> None:
    """Apply every migration not yet applied."""
    from .server.migrations import upgrade as run_upgrade

    with app_context() as app:
        run_upgrade(app.config["DATABASE_URL"])
        click.echo(f"Database is up to date: {_safe_url(app)}")


@main.group()
def publisher() -> None:
    """Manage publishers and their API keys."""


@publisher.command("create")
@click.argument("handle")
def publisher_create(handle: str) -> None:
    """Create a publisher; print its API key once, alone on the last line."""
    from .server import store

    with app_context():
        created, key = store.create_publisher(handle)
        click.echo(f"Publisher '{created.handle}' created. Its API key, shown only this once:")
        click.echo(key)


@publisher.command("list")
def publisher_list() -> None:
    """List publishers and how many active keys each has."""
    from .server import store

    with app_context():
        for each in store.list_publishers():
            active = sum(1 for key in each.api_keys if key.revoked_at is None)
            click.echo(f"{each.handle}\t{active} active key{'s' if active != 1 else ''}")


@publisher.command("keys")
@click.argument("handle")
def publisher_keys(handle: str) -> None:
    """List a publisher's API keys by prefix."""
    from .server import store

    with app_context():
        for key in store.list_api_keys(handle):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            click.echo(f"{key.prefix}…\tcreated {key.created_at:%Y-%m-%d}\t{state}")


@publisher.command("add-key")
@click.argument("handle")
def publisher_add_key(handle: str) -> None:
    """Issue another API key; print it once, alone on the last line."""
    from .server import store

    with app_context():
        key = store.issue_api_key(handle)
        click.echo(f"New API key for '{handle}', shown only this once:")
        click.echo(key)


@publisher.command("password")
@click.argument("handle")
@click.password_option(help="The new password (asked for twice when not given).")
def publisher_password(handle: str, password: str) -> None:
    """Set the password HANDLE logs into the dashboard with."""
    from .server import store

    with app_context():
        store.set_password(handle, password)
        click.echo(f"Password set for '{handle}': log in at /dashboard/login.")


@publisher.command("revoke-key")
@click.argument("prefix")
def publisher_revoke_key(prefix: str) -> None:
    """Revoke the API key that starts with PREFIX."""
    from .server import store

    with app_context():
        key = store.revoke_api_key(prefix.rstrip("…"))
        click.echo(f"Revoked {key.prefix}… of '{key.publisher.handle}'.")


# -- client side -------------------------------------------------------------


def _require_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if not value:
        raise click.UsageError("Give your API key with --api-key or VSWIDGET_API_KEY.", ctx)
    return value


def client_options(function: F) -> F:
    function = click.option(
        "--api-key",
        envvar="VSWIDGET_API_KEY",
        callback=_require_key,
        help="Your API key (or set VSWIDGET_API_KEY).",
    )(function)
    function = click.option(
        "--url",
        envvar="VSWIDGET_URL",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="Server URL (or set VSWIDGET_URL).",
    )(function)
    return function


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Show what would be created or changed; send nothing."
)
@client_options
def push(paths: tuple[Path, ...], dry_run: bool, url: str, api_key: str) -> None:
    """Publish comparisons from YAML/JSON files or folders.

    Every file is validated before anything is sent, and every bad one is
    reported. Pushing the same files twice changes nothing.
    """
    documents = _load_all(paths)
    counts = {"create": 0, "change": 0, "unchanged": 0}
    with Client(url, api_key) as client:
        for path, comparison in documents:
            try:
                stored: Comparison | None = client.get(comparison.slug)
            except NotFound:
                stored = None
            if stored is None:
                action = "create"
                if not dry_run:
                    client.publish(comparison)
            elif stored == comparison:
                action = "unchanged"
            else:
                action = "change"
                if not dry_run:
                    client.replace(comparison, stored.etag or "*")
            counts[action] += 1
            # Only once it is done: a failure on the next file leaves nothing untrue above it.
            click.echo(_push_line(action, comparison.slug, path, dry_run))
    verb = "would be " if dry_run else ""
    click.echo(
        f"{counts['create']} {verb}created, {counts['change']} {verb}changed, "
        f"{counts['unchanged']} unchanged."
    )


def _push_line(action: str, slug: str, path: Path, dry_run: bool) -> str:
    done = {"create": "created", "change": "changed", "unchanged": "unchanged"}[action]
    word = f"would {action}" if dry_run and action != "unchanged" else done
    return f"{word:<14} {slug}  ({path})"


def _load_all(paths: tuple[Path, ...]) -> list[tuple[Path, Comparison]]:
    """Return every comparison under ``paths``, all validated, slugs distinct.

    Raises one ValidationError that lists every problem, a line each, so that one
    run shows all that needs fixing.
    """
    problems: list[str] = []
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix in DOCUMENT_SUFFIXES and p.is_file()
            )
            if not found:
                problems.append(f"{path}: no .yaml, .yml or .json files in this folder.")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder.")
    documents: list[tuple[Path, Comparison]] = []
    for path in files:
        try:
            documents.append((path, Comparison.from_file(path)))
        except ValidationError as error:
            problems.append(error.message)
    seen: dict[str, Path] = {}
    for path, comparison in documents:
        if comparison.slug in seen:
            problems.append(
                f"{path}: slug '{comparison.slug}' is also the slug of {seen[comparison.slug]}."
            )
        seen.setdefault(comparison.slug, path)
    if len(problems) > 1:
        problems.insert(0, f"Nothing was sent; fix these {len(problems)} problems first:")
    if problems:
        raise ValidationError("\n".join(problems))
    return documents


@main.command("list")
@client_options
def list_(url: str, api_key: str) -> None:
    """List your comparisons."""
    with Client(url, api_key) as client:
        summaries = client.list()
    if not summaries:
        click.echo("No comparisons yet: publish one with `vswidget push FILE`.")
    width = max((len(s.slug) for s in summaries), default=0)
    for summary in summaries:
        votes = f"{summary.votes} vote{'s' if summary.votes != 1 else ''}"
        click.echo(f"{summary.slug:<{width}}  {votes:>10}  {summary.title}")


@main.command()
@click.argument("slug")
@client_options
def get(slug: str, url: str, api_key: str) -> None:
    """Print a comparison's document as YAML."""
    with Client(url, api_key) as client:
        click.echo(client.get(slug).to_yaml(), nl=False)


@main.command()
@click.argument("slug")
@client_options
def snippet(slug: str, url: str, api_key: str) -> None:
    """Print the HTML snippet that embeds a comparison."""
    with Client(url, api_key) as client:
        click.echo(client.embed(slug).snippet)


@main.command()
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@client_options
def delete(slug: str, yes: bool, url: str, api_key: str) -> None:
    """Delete a comparison, its votes and its embed."""
    if not yes:
        click.confirm(f"Delete '{slug}' and all its votes?", abort=True)
    with Client(url, api_key) as client:
        client.delete(slug)
    click.echo(f"Deleted '{slug}'.")


@main.command()
@click.argument("slug", required=False)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: email,comparison,created_at.")
@client_options
def signups(slug: str | None, as_csv: bool, url: str, api_key: str) -> None:
    """List newsletter sign-ups: all of them, or those made through SLUG."""
    with Client(url, api_key) as client:
        found = client.signups(slug)
    if as_csv:
        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(["email", "comparison", "created_at"])
        for entry in found:
            table.writerow([_cell(entry.email), entry.comparison or "", entry.created_at])
        return
    if not found:
        click.echo("No sign-ups yet.")
    for entry in found:
        click.echo(f"{entry.created_at[:19]}  {entry.comparison or '-':<30}  {entry.email}")


def _cell(text: str) -> str:
    """Return text a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


@main.command()
@click.argument("email")
@client_options
def forget(email: str, url: str, api_key: str) -> None:
    """Delete every sign-up of EMAIL (a reader's right to be forgotten)."""
    with Client(url, api_key) as client:
        deleted = client.forget(email)
    click.echo(f"Deleted {deleted} sign-up{'s' if deleted != 1 else ''} of {email}.")


@main.command()
@click.argument("webhook_url", required=False)
@click.option("--off", is_flag=True, help="Stop delivering sign-ups.")
@client_options
def webhook(webhook_url: str | None, off: bool, url: str, api_key: str) -> None:
    """Show, set (WEBHOOK_URL) or remove (--off) where sign-ups are delivered."""
    with Client(url, api_key) as client:
        if off:
            client.delete_webhook()
            click.echo("Sign-ups are no longer delivered.")
            return
        hook = client.set_webhook(webhook_url) if webhook_url else client.webhook()
    if hook is None:
        click.echo("No webhook: give a URL to deliver sign-ups to.")
        return
    click.echo(f"Sign-ups are delivered to {hook.url}")
    click.echo(f"Signing secret: {hook.secret}")


COUNTS = ("impressions", "views", "votes", "clicks", "signups", "visitors")


class Day(click.ParamType[date]):
    """A day written YYYY-MM-DD, as the dashboard shows it and the API takes it; no other form."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_day(value)
        except ValueError as error:
            self.fail(f"{value!r}: {error}", param, ctx)


@main.command()
@click.argument("slug")
@click.option("--since", type=Day(), help="First day (UTC).")
@click.option("--until", type=Day(), help="Last day (UTC); default today.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print one CSV row per day (or host page).")
@click.option("--pages", "host_pages", is_flag=True, help="List every host page, busiest first.")
@click.option(
    "--page", type=click.IntRange(1), default=1, help="Which page of host pages --json shows."
)
@click.option(
    "--page-size", type=click.IntRange(1, 100), default=20, help="Host pages a page holds."
)
@client_options
def stats(
    slug: str,
    since: date | None,
    until: date | None,
    as_json: bool,
    as_csv: bool,
    host_pages: bool,
    page: int,
    page_size: int,
    url: str,
    api_key: str,
) -> None:
    """Show a comparison's figures per day (default: the last 30 days), or its host pages."""
    with Client(url, api_key) as client:
        if host_pages:
            _print_pages(client.host_pages(slug, since, until), as_csv)
            return
        found = client.stats(slug, since, until, page=page, page_size=page_size)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(found), indent=2))
        return
    if as_csv:
        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(["day", *COUNTS])
        for day in found.days:
            table.writerow([day["day"], *(day[name] for name in COUNTS)])
        return
    click.echo(f"{slug}: {found.since} to {found.until}")
    click.echo(f"{'day':<12}" + "".join(f"{name:>13}" for name in COUNTS))
    for day in found.days:
        click.echo(f"{day['day']:<12}" + "".join(f"{day[name]:>13,}" for name in COUNTS))
    click.echo(f"{'total':<12}" + "".join(f"{found.totals[name]:>13,}" for name in COUNTS))
    rates = ", ".join(
        f"{name.replace('_', ' ')} {'—' if value is None else f'{value}%'}"
        for name, value in found.rates.items()
    )
    click.echo(f"conversion: {rates}")
    if found.pages:
        busiest = found.pages[0]
        click.echo(
            f"{found.pages_total:,} host page(s), --pages lists them; "
            f"busiest: {busiest['origin']}{busiest['path']}"
        )
    if found.other_pages["impressions"]:
        click.echo(
            f"other pages (past a day's cap): {found.other_pages['impressions']:,} impressions"
        )
    if sum(found.dropped.values()):
        click.echo(
            f"dropped: {found.dropped['over_budget']:,} event(s) over budget, "
            f"{found.dropped['other_host']:,} from other sites"
        )


def _print_pages(pages: Iterable[dict[str, Any]], as_csv: bool) -> None:
    """Print host pages as a table or as CSV, one row each."""
    columns = ["origin", "path", "first_seen", "last_seen", *COUNTS]
    if as_csv:
        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(columns)
        for row in pages:
            table.writerow([row[name] for name in columns])
        return
    click.echo(f"{'host page':<50}" + "".join(f"{name:>13}" for name in COUNTS))
    for row in pages:
        where = f"{row['origin']}{row['path']}"
        click.echo(f"{where:<50}" + "".join(f"{row[name]:>13,}" for name in COUNTS))
