"""``tradewind tasks render``: print a task's template fields rendered for a logical date,
without running it (the work is :func:`tradewind.runtime.tasktest.render_task`)."""

from __future__ import annotations

import json

import click

from tradewind.cli._common import get_settings, user_errors
from tradewind.cli.tasktest import parse_conf, parse_date, task_arguments
from tradewind.runtime import tasktest

_RULE = "# " + "-" * 58


@click.command()
@task_arguments("render")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object of field -> value.")
def render(
    *,
    dag_id: str,
    task_id: str,
    logical_date: str | None,
    dag_file: str | None,
    conf_json: str | None,
    map_index: int,
    as_json: bool,
) -> None:
    """Print a task's template fields rendered for LOGICAL_DATE (default: now); the task does
    not run and nothing is recorded."""
    settings = get_settings()
    when = parse_date(logical_date, settings.core.default_timezone)
    with user_errors(*tasktest.USER_ERRORS, tasktest.RenderError):
        fields = tasktest.render_task(
            settings,
            dag_id,
            task_id,
            logical_date=when,
            conf=parse_conf(conf_json),
            dag_file=dag_file,
            note=lambda text: click.echo(text, err=True),
            map_index=map_index,
        )
    if as_json:
        click.echo(json.dumps(fields, indent=2, ensure_ascii=False))
        return
    if not fields:
        click.echo(f"Task {task_id} has no template fields.")
    for name, value in fields.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        click.echo(f"\n{_RULE}\n# property: {name}\n{_RULE}\n{shown}")
