"""``tradewind tasks list|state|states-for-dag-run|clear``: task instances of runs (the
``tasks`` group in cli/tasks.py lists these commands)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from tradewind.cli._common import emit, map_index_option, open_metastore, output_option, user_errors
from tradewind.exceptions import TradewindError
from tradewind.metastore.models import TaskInstance
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.parsing import registry
from tradewind.scheduler import operations


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def ti_row(ti: TaskInstance) -> dict[str, Any]:
    return {
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "rendered_map_index": ti.rendered_map_index,
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
@map_index_option
def state(dag_id: str, task_id: str, run_id: str, map_index: int) -> None:
    """Print the state of one task instance."""
    with open_metastore() as sessions, sessions() as session:
        ti = task_store.get_instance(session, dag_id, run_id, task_id, map_index)
        indexes = [] if ti else instance_store.map_indexes(session, dag_id, run_id, task_id)
    if ti is None and indexes and map_index == -1:
        raise click.ClickException(
            f"task {task_id!r} is mapped: give the instance with --map-index "
            f"({len(indexes)} instances, {indexes[0]} to {indexes[-1]})"
        )
    if ti is None:
        which = f"[{map_index}]" if map_index >= 0 else ""
        raise click.ClickException(f"no task instance {dag_id}.{task_id}{which} in run {run_id!r}")
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
    columns = ["task_id", "map_index", "state", "try_number", "start_date", "end_date"]
    emit(rows, columns, output)


@click.command()
@click.argument("dag_id")
@click.argument("run_id")
@click.option("-t", "--task-id", "task_ids", multiple=True, help="Tasks to clear (default: all).")
@click.option(
    "-m",
    "--map-index",
    "map_indexes",
    multiple=True,
    help=(
        "Only these instances of the mapped tasks named: map indexes such as 3, 0,2 or 4-9 "
        "(repeatable; default: every instance)."
    ),
)
@click.option("-u", "--upstream", is_flag=True, help="Also their upstream tasks.")
@click.option("-d", "--downstream", is_flag=True, help="Also their downstream tasks.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(
    *,
    dag_id: str,
    run_id: str,
    task_ids: tuple[str, ...],
    map_indexes: tuple[str, ...],
    upstream: bool,
    downstream: bool,
    yes: bool,
) -> None:
    """Clear task instances of a run so that the scheduler runs them again."""
    indexes = parse_map_indexes(map_indexes)
    if indexes and not task_ids:
        raise click.UsageError("--map-index needs --task-id: the mapped tasks whose instances")
    if not yes and not click.confirm(f"Clear tasks of {dag_id} run {run_id}?", default=False):
        raise click.Abort
    with open_metastore() as sessions, sessions.begin() as session, user_errors(TradewindError):
        if indexes:
            selectors: list[operations.Selector] = [(t, i) for t in task_ids for i in indexes]
            scope = operations.Scope(upstream=upstream, downstream=downstream)
            rows = operations.clear_instances(
                session, dag_id, run_id, selectors, scope=scope, now=datetime.now(UTC)
            )
            cleared = [
                r.task_id if r.map_index < 0 else f"{r.task_id}[{r.map_index}]" for r in rows
            ]
        else:
            cleared = operations.clear_tasks(
                session,
                dag_id,
                run_id,
                list(task_ids) or None,
                upstream=upstream,
                downstream=downstream,
                now=datetime.now(UTC),
            )
    click.echo(f"Cleared {len(cleared)} task instances: {', '.join(cleared)}")


def parse_map_indexes(texts: tuple[str, ...]) -> list[int]:
    """Map indexes from ``3``, ``0,2`` and ``4-9`` (sorted, each once)."""
    found: set[int] = set()
    for part in (p.strip() for text in texts for p in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise click.BadParameter(
                f"{part!r} is not a map index nor a range such as 4-9", param_hint="--map-index"
            ) from None
        if low > high or high - low > MAX_RANGE:
            raise click.BadParameter(
                f"{part!r}: a range goes up, over at most {MAX_RANGE} indexes",
                param_hint="--map-index",
            )
        found.update(range(low, high + 1))
    return sorted(found)


MAX_RANGE = 100_000
