"""Task instances as the web server and the hand-made operations (mark, clear) read them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, TaskInstance, TaskInstanceHistory
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

# Offsets beyond any real table; larger ones would overflow the databases' integers.
_MAX_OFFSET = 2**62


def _state_in(column: Any, states: Collection[str]) -> Any:
    """``column`` in ``states``, where "none" means NULL."""
    named = [s for s in states if s != TaskState.NONE.value]
    clauses = [column.in_(named)] if named else []
    if TaskState.NONE.value in states:
        clauses.append(column.is_(None))
    return or_(*clauses)


@dataclass(frozen=True)
class InstanceFilter:
    """Which task instances of a run a listing shows (every one when left empty)."""

    states: Collection[str] = ()
    task_id: str | None = None
    map_indexes: Collection[int] = ()
    pools: Collection[str] = ()
    queues: Collection[str] = ()
    # column name (of ORDER_COLUMNS) -> (lowest, highest), each inclusive, None: no bound
    bounds: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)


# What a listing may be ordered by (Airflow's order_by names) and the columns they stand for.
ORDER_COLUMNS: dict[str, Any] = {
    "task_id": TaskInstance.task_id,
    "map_index": TaskInstance.map_index,
    "rendered_map_index": TaskInstance.rendered_map_index,
    "state": TaskInstance.state,
    "try_number": TaskInstance.try_number,
    "start_date": TaskInstance.start_date,
    "end_date": TaskInstance.end_date,
    "duration": TaskInstance.duration,
    "pool": TaskInstance.pool,
    "queue": TaskInstance.queue,
    "priority_weight": TaskInstance.priority_weight,
    "queued_when": TaskInstance.queued_dttm,
}


def _ordered(order_by: str) -> list[Any]:
    """ORDER BY terms of an order_by name (``-name``: descending): empty values last, then
    task id and map index, so that pages never overlap."""
    column = ORDER_COLUMNS[order_by.removeprefix("-")]
    term = column.desc() if order_by.startswith("-") else column.asc()
    return [column.is_(None), term, TaskInstance.task_id, TaskInstance.map_index]


def page_instances(
    session: Session,
    dag_id: str,
    run_id: str,
    *,
    states: Collection[str] = (),
    where: InstanceFilter | None = None,
    order_by: str = "task_id",
    limit: int,
    offset: int,
) -> tuple[list[TaskInstance], int]:
    """Task instances of a run (those ``where`` picks; in ``states`` if given) ordered by
    ``order_by`` (one of :data:`ORDER_COLUMNS`, ``-`` first for descending), a page; and the
    count."""
    where = where or InstanceFilter()
    query = select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
    if states or where.states:
        query = query.where(_state_in(TaskInstance.state, [*states, *where.states]))
    if where.task_id is not None:
        query = query.where(TaskInstance.task_id == where.task_id)
    if where.map_indexes:
        query = query.where(TaskInstance.map_index.in_(list(where.map_indexes)))
    if where.pools:
        query = query.where(TaskInstance.pool.in_(list(where.pools)))
    if where.queues:
        query = query.where(TaskInstance.queue.in_(list(where.queues)))
    for name, (low, high) in where.bounds.items():
        if low is not None:
            query = query.where(ORDER_COLUMNS[name] >= low)
        if high is not None:
            query = query.where(ORDER_COLUMNS[name] <= high)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(*_ordered(order_by)).limit(limit).offset(min(offset, _MAX_OFFSET))
    ).all()
    return list(rows), total


def map_indexes(session: Session, dag_id: str, run_id: str, task_id: str) -> list[int]:
    """The map indexes of a task's instances in a run (``[-1]`` for a plain or unexpanded
    mapped task; empty for a task the run has no instance of), in order."""
    return list(
        session.scalars(
            select(TaskInstance.map_index)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
            .order_by(TaskInstance.map_index)
        ).all()
    )


def instances_in_runs(
    session: Session,
    dag_id: str,
    task_ids: Collection[str],
    *,
    run_id: str,
    past: bool = False,
    future: bool = False,
) -> list[tuple[TaskInstance, int]]:
    """The instances of ``task_ids`` in run ``run_id`` and, with ``past`` / ``future``, in the
    DAG's runs of an earlier / later logical date; each with its run's row id, oldest run
    first."""
    if not task_ids:
        return []
    this = select(DagRun.logical_date).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    which = [DagRun.run_id == run_id]
    if past:
        which.append(DagRun.logical_date < this.scalar_subquery())
    if future:
        which.append(DagRun.logical_date > this.scalar_subquery())
    rows = session.execute(
        select(TaskInstance, DagRun.id)
        .join(
            DagRun,
            and_(DagRun.dag_id == TaskInstance.dag_id, DagRun.run_id == TaskInstance.run_id),
        )
        .where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.task_id.in_(list(task_ids)),
            or_(*which),
        )
        .order_by(DagRun.logical_date, DagRun.id, TaskInstance.task_id, TaskInstance.map_index)
    ).all()
    return [(ti, int(run_pk)) for ti, run_pk in rows]


def instances_by_id(session: Session, ids: Collection[int]) -> list[TaskInstance]:
    """These task instances as they are now, in the order of ``ids``."""
    if not ids:
        return []
    found = {
        ti.id: ti
        for ti in session.scalars(
            select(TaskInstance)
            .where(TaskInstance.id.in_(list(ids)))
            .execution_options(populate_existing=True)
        ).all()
    }
    return [found[i] for i in ids if i in found]


def instance_tries(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> list[TaskInstanceHistory]:
    """The recorded (finished) tries of a task instance, in try order."""
    return list(
        session.scalars(
            select(TaskInstanceHistory)
            .where(
                TaskInstanceHistory.dag_id == dag_id,
                TaskInstanceHistory.run_id == run_id,
                TaskInstanceHistory.task_id == task_id,
                TaskInstanceHistory.map_index == map_index,
            )
            .order_by(TaskInstanceHistory.try_number)
        ).all()
    )


def try_hostname(session: Session, ti: TaskInstance, key: TaskKey) -> str | None:
    """The host that ran try ``key.try_number`` of ``ti``, if that try has started."""
    if key.try_number == ti.try_number:
        # A try queued again for a retry still shows the last try's host until it starts.
        return ti.hostname if ti.start_date is not None else None
    for old in instance_tries(session, key.dag_id, key.run_id, key.task_id, key.map_index):
        if old.try_number == key.try_number:
            return old.hostname
    return None
