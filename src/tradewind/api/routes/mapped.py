"""The instances of a mapped task, as Airflow's API serves them: list them (``listMapped``),
get one, its tries, and mark one (``.../taskInstances/{task_id}/{map_index}``).

A mapped task's instance is named by its map index after the task id. The segment only ever
matches a (possibly negative) integer, so ``.../{task_id}/tries``, ``/xcomEntries`` and the
like keep their own routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime
from starlette.convertors import Convertor, register_url_convertor

from tradewind.api.deps import AsUser, AsViewer, DbSession, Paged
from tradewind.api.errors import not_found
from tradewind.api.routes.fields import MAX_INT, Rfc3339, utc
from tradewind.api.routes.tasks import (
    MarkTasks,
    TaskInstance,
    TaskInstanceList,
    TaskStateName,
    existing_instance,
    existing_run,
    mark,
    one_ti_out,
    ti_out,
)
from tradewind.metastore.models import TaskInstance as TaskInstanceRow
from tradewind.metastore.models import TaskInstanceHistory
from tradewind.metastore.store import instances as instance_store
from tradewind.scheduler import operations

router = APIRouter(tags=["taskInstances"])


class _MapIndexConvertor(Convertor[int]):
    regex = "-?[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("map_index", _MapIndexConvertor())

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"
ONE = BASE + "/{map_index:map_index}"
MapIndexPath = Annotated[int, Path(ge=-1, le=MAX_INT, description="The instance's map index.")]
OrderBy = Literal[
    "map_index",
    "-map_index",
    "rendered_map_index",
    "-rendered_map_index",
    "state",
    "-state",
    "try_number",
    "-try_number",
    "start_date",
    "-start_date",
    "end_date",
    "-end_date",
    "duration",
    "-duration",
    "priority_weight",
    "-priority_weight",
    "queued_when",
    "-queued_when",
]


When = Annotated[
    AwareDatetime | None, Rfc3339, Query(description="RFC 3339, with a time zone; inclusive.")
]
Seconds = Annotated[float | None, Query(ge=0, le=1e12, description="Seconds; inclusive.")]


@dataclass
class Times:
    """Airflow's time filters of a listing of task instances: each bound inclusive."""

    start_date_gte: When = None
    start_date_lte: When = None
    end_date_gte: When = None
    end_date_lte: When = None
    duration_gte: Seconds = None
    duration_lte: Seconds = None

    def bounds(self) -> dict[str, tuple[Any, Any]]:
        return {
            "start_date": (utc(self.start_date_gte), utc(self.start_date_lte)),
            "end_date": (utc(self.end_date_gte), utc(self.end_date_lte)),
            "duration": (self.duration_gte, self.duration_lte),
        }


@router.get(BASE + "/listMapped", response_model=TaskInstanceList)
def list_mapped_task_instances(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    state: Annotated[
        list[TaskStateName] | None, Query(description="Only in these states (none: not yet).")
    ] = None,
    pool: Annotated[list[str] | None, Query(description="Only in these pools.")] = None,
    queue: Annotated[list[str] | None, Query(description="Only in these queues.")] = None,
    order_by: Annotated[
        OrderBy, Query(description="The field to order by; a leading - reverses the order.")
    ] = "map_index",
    times: Annotated[Times, Depends()],
) -> TaskInstanceList:
    """The instances of a mapped task in a run, by map index (or ``order_by``), a page; a 404
    for a task that is not mapped. A mapped task not yet expanded has one instance, -1."""
    run = existing_run(session, dag_id, dag_run_id)
    try:
        dag = operations.dag_of(session, run)
    except operations.OperationError as exc:
        raise not_found(str(exc)) from None
    task = dag.tasks.get(task_id)
    if task is None:
        raise not_found(f"DAG {dag_id!r} has no task {task_id!r}")
    if not task.is_mapped:
        raise not_found(f"task {task_id!r} is not mapped")
    where = instance_store.InstanceFilter(
        states=state or (),
        task_id=task_id,
        pools=pool or (),
        queues=queue or (),
        bounds=times.bounds(),
    )
    rows, total = instance_store.page_instances(
        session,
        dag_id,
        dag_run_id,
        where=where,
        order_by=order_by,
        limit=page.limit,
        offset=page.offset,
    )
    return TaskInstanceList(task_instances=[ti_out(r) for r in rows], total_entries=total)


@router.get(ONE, response_model=TaskInstance)
def get_mapped_task_instance(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: MapIndexPath,
    *,
    session: DbSession,
    who: AsViewer,
) -> TaskInstance:
    """One instance of a mapped task (-1: a task not mapped, or one not yet expanded)."""
    return one_ti_out(session, existing_instance(session, dag_id, dag_run_id, task_id, map_index))


@router.get(ONE + "/tries", response_model=TaskInstanceList)
def list_mapped_tries(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: MapIndexPath,
    *,
    session: DbSession,
    who: AsViewer,
) -> TaskInstanceList:
    """Every try of one instance of a mapped task, first to current."""
    current = existing_instance(session, dag_id, dag_run_id, task_id, map_index)
    tries: dict[int, TaskInstanceRow | TaskInstanceHistory] = {
        row.try_number: row
        for row in instance_store.instance_tries(session, dag_id, dag_run_id, task_id, map_index)
    }
    if current.try_number > 0:
        tries[current.try_number] = current
    found = [ti_out(tries[n]) for n in sorted(tries)]
    return TaskInstanceList(task_instances=found, total_entries=len(found))


@router.patch(ONE, response_model=TaskInstanceList)
def mark_mapped_task_instance(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: MapIndexPath,
    change: MarkTasks,
    *,
    session: DbSession,
    who: AsUser,
) -> TaskInstanceList:
    """Mark one instance of a mapped task success, failed or skipped (with the scopes asked
    for: relatives are reached whole, those of its mapped task group at the same index)."""
    existing_instance(session, dag_id, dag_run_id, task_id, map_index)
    selector = (task_id, map_index)
    return mark(session, who, dag_id, dag_run_id, selector=selector, change=change)
