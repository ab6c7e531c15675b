"""Helpers shared by the command modules: settings, errors and output formats."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from tradewind.settings import Settings, SettingsError, load_settings

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_FORMATS = ("table", "json", "plain")


def get_settings() -> Settings:
    """Build the Settings once per command; a bad setting is a one-line error."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        try:
            root.obj = load_settings()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
    settings: Settings = root.obj
    return settings


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], output: str) -> None:
    """Print rows as a table, a JSON list of objects, or tab-separated plain lines."""
    if output == "json":
        click.echo(json.dumps([dict(row) for row in rows], default=str, indent=2))
        return
    if output == "plain":
        for row in rows:
            click.echo("\t".join(_plain(row.get(col)) for col in columns))
        return
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_plain(row.get(col)) for col in columns))
    Console(soft_wrap=True).print(table)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn the library's expected errors into a one-line message and exit code 1."""
    try:
        yield
    except kinds as exc:
        raise click.ClickException(str(exc)) from None
