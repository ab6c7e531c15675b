"""``tradewind variables``: set, get, list, delete, import and export variables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tradewind import limits
from tradewind.cli._common import emit, get_settings, open_metastore, output_option, user_errors
from tradewind.metastore import crypto
from tradewind.metastore.store import variables as variable_store

_ERRORS = (variable_store.VariableError, crypto.CryptoError, limits.TooLarge)


def _cipher() -> crypto.Cipher:
    with user_errors(crypto.CryptoError):
        return crypto.Cipher(get_settings().core.fernet_key)


@click.group()
def variables() -> None:
    """Manage variables: key/value settings that DAGs read (``var.value.KEY``)."""


@variables.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--description", help="What the variable is for.")
@click.option("-j", "--json", "as_json", is_flag=True, help="Check that VALUE is JSON.")
def set_(key: str, value: str, description: str | None, as_json: bool) -> None:
    """Create or replace a variable."""
    if as_json:
        try:
            json.loads(value)
        except ValueError as exc:
            raise click.ClickException(f"VALUE is not JSON: {exc}") from None
    cipher = _cipher()
    with open_metastore() as sessions, sessions.begin() as session, user_errors(*_ERRORS):
        variable_store.set_variable(
            session,
            key,
            value,
            cipher,
            description=description,
            max_mb=get_settings().core.max_variable_mb,
        )
    click.echo(f"Variable {key} set.")


@variables.command()
@click.argument("key")
@click.option("-j", "--json", "as_json", is_flag=True, help="Decode the value as JSON.")
@click.option("-d", "--default", help="Print this when the variable does not exist.")
def get(key: str, as_json: bool, default: str | None) -> None:
    """Print a variable's value."""
    cipher = _cipher()
    with open_metastore() as sessions, sessions() as session, user_errors(*_ERRORS):
        value = variable_store.get_variable(session, key, cipher)
    if value is None:
        if default is None:
            raise click.ClickException(f"variable {key!r} does not exist")
        click.echo(default)
        return
    if as_json:
        try:
            value = json.dumps(json.loads(value), indent=2)
        except ValueError:
            raise click.ClickException(f"variable {key!r} does not hold JSON") from None
    click.echo(value)


@variables.command("list")
@output_option
def list_(output: str) -> None:
    """List the variables (keys and descriptions; values stay hidden)."""
    with open_metastore() as sessions, sessions() as session:
        rows = [
            {"key": v.key, "description": v.description, "is_encrypted": v.is_encrypted}
            for v in variable_store.list_variables(session)
        ]
    if output == "table" and not rows:
        click.echo("No variables.")
        return
    emit(rows, ["key", "description", "is_encrypted"], output)


@variables.command()
@click.argument("key")
def delete(key: str) -> None:
    """Delete a variable."""
    with open_metastore() as sessions, sessions.begin() as session:
        found = variable_store.delete_variable(session, key)
    if not found:
        raise click.ClickException(f"variable {key!r} does not exist")
    click.echo(f"Variable {key} deleted.")


@variables.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-a",
    "--action-on-existing-key",
    "on_existing",
    type=click.Choice(["overwrite", "fail", "skip"]),
    default="overwrite",
    show_default=True,
    help="What to do with keys that already exist.",
)
def import_(file: str, on_existing: variable_store.OnExisting) -> None:
    """Set variables from a JSON object of key -> value (FILE, or - for stdin)."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise click.ClickException(f"{file} is not JSON: {exc}") from None
    cipher = _cipher()
    with open_metastore() as sessions, sessions.begin() as session, user_errors(*_ERRORS):
        report = variable_store.import_variables(
            session,
            data,
            cipher,
            on_existing=on_existing,
            max_mb=get_settings().core.max_variable_mb,
        )
    click.echo(
        f"Imported variables: {report.created} created, {report.updated} updated, "
        f"{report.skipped} skipped."
    )


@variables.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export(file: str) -> None:
    """Write every variable to FILE (or - for stdout) as a JSON object."""
    cipher = _cipher()
    with open_metastore() as sessions, sessions() as session, user_errors(*_ERRORS):
        data = variable_store.export_variables(session, cipher)
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if file == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc.strerror or exc}") from None
    click.echo(f"Exported {len(data)} variables to {file}.")
