"""``tradewind tasks failed-deps``: why a task instance is not running, condition by condition
(Airflow's command and wording)."""

from __future__ import annotations

import click

from tradewind.cli._common import (
    emit,
    get_settings,
    map_index_option,
    open_metastore,
    output_option,
)
from tradewind.metastore.types import utcnow
from tradewind.scheduler import whynot


@click.command("failed-deps")
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_id")
@map_index_option
@output_option
def failed_deps(dag_id: str, task_id: str, run_id: str, map_index: int, output: str) -> None:
    """Say which conditions keep a task instance from running: its upstream tasks against its
    trigger rule, pools, concurrency limits, a paused DAG, retry time, the executor, the
    scheduler, a trigger."""
    settings = get_settings()
    with open_metastore() as sessions, sessions() as session:
        try:
            deps = whynot.failed_deps(
                session, settings, dag_id, run_id, task_id, map_index=map_index, now=utcnow()
            )
        except whynot.NoSuchInstance as missing:
            raise click.ClickException(str(missing)) from None
    if output != "table":
        emit([{"name": d.name, "reason": d.reason} for d in deps], ["name", "reason"], output)
        return
    if not deps:
        click.echo("Task instance dependencies are all met.")
        return
    click.echo("Task instance dependencies not met:")
    for dep in deps:
        click.echo(f"{dep.name}: {dep.reason}")
