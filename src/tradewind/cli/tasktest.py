"""``tradewind tasks test``: run one task here, with its log on the terminal, recording nothing
(the work is :func:`tradewind.runtime.tasktest.run_test`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from tradewind.cli._common import get_settings, user_errors
from tradewind.runtime import tasktest


def parse_date(text: str | None, zone_name: str) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or time (e.g. 2024-01-31 or 2024-01-31T06:00:00+00:00)",
            param_hint="LOGICAL_DATE",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone_name))
    return value.astimezone(UTC)


def parse_conf(conf_json: str | None) -> dict[str, Any]:
    if conf_json is None:
        return {}
    try:
        conf = json.loads(conf_json)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--conf") from None
    if not isinstance(conf, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--conf")
    return conf


def task_arguments(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The arguments and options of a command that works on one task for a transient run
    (``tasks test``, ``tasks render``); ``verb`` says what it does to a mapped instance."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(
            [
                click.argument("dag_id"),
                click.argument("task_id"),
                click.argument("logical_date", required=False),
                click.option(
                    "--dag-file", help="The DAG file (default: the registered one, or a search)."
                ),
                click.option("-c", "--conf", "conf_json", help="The run's conf as a JSON object."),
                click.option(
                    "-m",
                    "--map-index",
                    default=-1,
                    show_default=True,
                    type=click.IntRange(-1),
                    help=f"The instance of a mapped task to {verb}.",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


@click.command()
@task_arguments("run")
@click.pass_context
def test(
    ctx: click.Context,
    *,
    dag_id: str,
    task_id: str,
    logical_date: str | None,
    dag_file: str | None,
    conf_json: str | None,
    map_index: int,
) -> None:
    """Run one task here, with its log on the terminal, without recording any state."""
    settings = get_settings()
    when = parse_date(logical_date, settings.core.default_timezone)
    conf = parse_conf(conf_json)
    with user_errors(*tasktest.USER_ERRORS):
        result = tasktest.run_test(
            settings,
            dag_id,
            task_id,
            logical_date=when,
            conf=conf,
            dag_file=dag_file,
            note=lambda text: click.echo(text, err=True),
            map_index=map_index,
        )
    shown = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    click.echo(f"Task {dag_id}.{shown} ({result.run_id}): {result.state.value}")
    if result.return_value is not None:
        click.echo(f"Return value: {result.return_value}")
    if result.error:
        click.echo(f"Error: {result.error}", err=True)
    if not result.ok:
        ctx.exit(1)
