"""``tradewind tasks list|state|states-for-dag-run|clear``: task instances of runs (the
``tasks`` group in cli/tasks.py lists these commands)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from tradewind.cli._common import emit, open_metastore, output_option, user_errors
from tradewind.exceptions import TradewindError
from tradewind.metastore.models import TaskInstance
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.parsing import registry
from tradewind.scheduler.operations import clear_tasks


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def ti_row(ti: TaskInstance) -> dict[str, Any]:
    return {
        "task_id": ti.task_id,
        "state": ti.state or "none",
        "try_number": ti.try_number,
        "start_date": _iso(ti.start_date),
        "end_date": _iso(ti.end_date),
        "duration": ti.duration,
        "hostname": ti.hostname,
    }


@click.command("list")
@click.argument("dag_id")
@click.option("--tree", is_flag=True, help="Show each task's downstream tasks too.")
def list_(dag_id: str, tree: bool) -> None:
    """List the tasks of a DAG, upstream first."""
    with open_metastore() as sessions, sessions() as session, user_errors(TradewindError):
        dag = registry.load_serialized(session, dag_id)
    if tree:
        click.echo(registry.describe(dag))
        return
    for task_id in dag.topological_order():
        click.echo(task_id)


@click.command()
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_id")
@click.option("--map-index", default=-1, show_default=True)
def state(dag_id: str, task_id: str, run_id: str, map_index: int) -> None:
    """Print the state of one task instance."""
    with open_metastore() as sessions, sessions() as session:
        ti = task_store.get_instance(session, dag_id, run_id, task_id, map_index)
    if ti is None:
        raise click.ClickException(f"no task instance {dag_id}.{task_id} in run {run_id!r}")
    click.echo(ti.state or "none")


@click.command("states-for-dag-run")
@click.argument("dag_id")
@click.argument("run_id")
@output_option
def states_for_dag_run(dag_id: str, run_id: str, output: str) -> None:
    """The state of every task instance of a run."""
    with open_metastore() as sessions, sessions() as session:
        if run_store.get_run(session, dag_id, run_id) is None:
            raise click.ClickException(f"DAG {dag_id!r} has no run {run_id!r}")
        rows = [ti_row(ti) for ti in task_store.instances_of_run(session, dag_id, run_id)]
    columns = ["task_id", "state", "try_number", "start_date", "end_date"]
    emit(rows, columns, output)


@click.command()
@click.argument("dag_id")
@click.argument("run_id")
@click.option("-t", "--task-id", "task_ids", multiple=True, help="Tasks to clear (default: all).")
@click.option("-u", "--upstream", is_flag=True, help="Also their upstream tasks.")
@click.option("-d", "--downstream", is_flag=True, help="Also their downstream tasks.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(
    *,
    dag_id: str,
    run_id: str,
    task_ids: tuple[str, ...],
    upstream: bool,
    downstream: bool,
    yes: bool,
) -> None:
    """Clear task instances of a run so that the scheduler runs them again."""
    if not yes and not click.confirm(f"Clear tasks of {dag_id} run {run_id}?", default=False):
        raise click.Abort
    with open_metastore() as sessions, sessions.begin() as session, user_errors(TradewindError):
        cleared = clear_tasks(
            session,
            dag_id,
            run_id,
            list(task_ids) or None,
            upstream=upstream,
            downstream=downstream,
            now=datetime.now(UTC),
        )
    click.echo(f"Cleared {len(cleared)} task instances: {', '.join(cleared)}")
