"""Helpers shared by the command modules: settings, errors, output formats, the metastore,
logging and stopping on signals."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage, revision
from tradewind.metastore.errors import DatabaseError
from tradewind.runtime import locate
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


def map_index_option(func: F) -> F:
    """``-m/--map-index``: one instance of a mapped task (-1, the default: a task not mapped)."""
    return click.option(
        "-m",
        "--map-index",
        default=-1,
        show_default=True,
        type=click.IntRange(-1),
        help="The instance of a mapped task (-1: a task not mapped).",
    )(func)


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
    from rich.console import Console  # only for tables: commands that print none start faster
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_plain(row.get(col)) for col in columns))
    console = Console()
    if not console.is_terminal:
        # Piped output is for grep and friends: never cut a value short.
        console = Console(width=max(200, console.width))
    console.print(table)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def confirm(question: str, yes: bool) -> None:
    """Ask before something that cannot be undone; without a terminal, ask for --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.ClickException("refusing to go on without a terminal to confirm; pass --yes")
    click.confirm(question, abort=True)


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn the library's expected errors into a one-line message and exit code 1."""
    try:
        yield
    except kinds as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def open_engine() -> Iterator[Engine]:
    """The configured engine; database errors become a one-line message and exit code 1."""
    settings = get_settings()
    with user_errors(DatabaseError):
        engine = engine_module.create_engine(settings.database)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def open_metastore() -> Iterator[sessionmaker[Session]]:
    """Sessions on a reachable metastore at head, or a one-line error saying what to do."""
    with open_engine() as engine:
        if revision.at_head(engine):
            with user_errors(DatabaseError):
                yield engine_module.session_factory(engine)
            return
        from tradewind.metastore import schema

        status = schema.check_db(engine)
        if status.problem:
            raise click.ClickException(status.problem)
        if status.current is None:
            raise click.ClickException(
                f"the metastore at {engine_module.mask_url(engine.url)} is not initialised; "
                "run `tradewind db init`"
            )
        if not status.up_to_date:
            raise click.ClickException(
                f"the metastore is at revision {status.current}, this tradewind needs "
                f"{status.head}; run `tradewind db upgrade`"
            )
        with user_errors(DatabaseError):
            yield engine_module.session_factory(engine)


def registered_fileloc(dag_id: str) -> str:
    """The file DAG_ID was registered from, or a one-line error saying to pass --dag-file."""
    with (
        open_metastore() as sessions,
        sessions() as session,
        user_errors(locate.DagNotRegistered),
    ):
        return locate.registered_fileloc(session, dag_id)


def setup_logging(settings: Settings) -> None:
    """Log lines to stderr at the configured level (commands that run loops call this)."""
    logging.basicConfig(
        level=settings.logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic reports every schema check at INFO; that is noise in a long-running process.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(outage.quiet_pool)


def stop_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM (Ctrl-C stops cleanly)."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop
