"""The ``vswidget`` command. Errors print one sentence and exit non-zero, never a traceback.

The client commands need only the SDK; the server's commands import the server (the
``vswidget[server]`` extra) when they run, and say what to install when it is missing.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, changes
from .client import Client
from .document import DOCUMENT_SUFFIXES, Comparison
from .errors import NotFound, ValidationError, VSWidgetError
from .fields import parse_day
from .stats_tables import COUNTS, print_pages, print_segments

F = TypeVar("F", bound=Callable[..., Any])
Resolved = tuple[str | None, click.Command | None, list[str]]
# The commands of vswidget.server.commands (vswidget[server]) and their short help: --help
# lists them from here, and the server is imported only when one of them runs.
SERVER_COMMANDS = {
    "serve": "Serve vswidget with gunicorn, applying migrations first.",
    "db": "Manage the database.",
    "publisher": "Manage publishers and their API keys.",
}
# The extra that installs each module a server command may miss; any other: "server".
EXTRA_OF = {"psycopg": "postgresql", "redis": "redis"}


class Group(click.Group):
    """Loads the server's commands only to run one; a VSWidgetError is one line on stderr."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SERVER_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SERVER_COMMANDS:  # a stand-in that --help lists
            return click.Command(cmd_name, short_help=SERVER_COMMANDS[cmd_name])
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Resolved:
        name, command, rest = super().resolve_command(ctx, args)
        if name in SERVER_COMMANDS:
            command = server_command(name)
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VSWidgetError as error:
            raise click.ClickException(error.message) from error
        except ModuleNotFoundError as error:
            if ctx.invoked_subcommand not in SERVER_COMMANDS or not error.name:
                raise
            raise server_missing(ctx.invoked_subcommand, error) from error


def server_command(name: str) -> click.Command:
    """Return the server's command ``name``, importing the server."""
    try:
        from .server.commands import COMMANDS
    except ModuleNotFoundError as error:
        raise server_missing(name, error) from error
    return COMMANDS[name]


def server_missing(name: str, error: ModuleNotFoundError) -> click.ClickException:
    """Return the one sentence that names the extra a server command misses."""
    extra = EXTRA_OF.get((error.name or "").split(".")[0], "server")
    return click.ClickException(
        f"`vswidget {name}` needs vswidget's server, which is not "
        f"installed (no module {error.name!r}): pip install 'vswidget[{extra}]'."
    )


@click.group(cls=Group)
@click.version_option(__version__, prog_name="vswidget")
def main() -> None:
    """Publish 'X vs Y' comparisons and serve their embeddable widgets."""


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
@click.option("--segments", is_flag=True, help="List the top sources, devices and browsers.")
@click.option("--host-page", metavar="URL", help="The sources, devices and browsers of one page.")
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
    segments: bool,
    host_page: str | None,
    page: int,
    page_size: int,
    url: str,
    api_key: str,
) -> None:
    """Show a comparison's figures per day (default: the last 30 days), its host pages,
    or its top sources, devices and browsers."""
    with Client(url, api_key) as client:
        if host_pages:
            print_pages(client.host_pages(slug, since, until), as_csv)
            return
        found = client.stats(
            slug, since, until, page=page, page_size=page_size, host_page=host_page
        )
    if segments:
        print_segments(found, as_csv)
        return
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
    click.echo(changes.compared(found.totals, found.rates, found.previous, COUNTS))
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
