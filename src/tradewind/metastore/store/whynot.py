"""Reads for "why is this task instance not running?": who holds a pool's slots, how many tries
occupy the executor's slots, a DAG's running runs, the previous run's instance (each a small
indexed query; read on demand, never by the scheduler's loop)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, TaskInstance
from tradewind.metastore.store.tasks import OCCUPYING


@dataclass(frozen=True)
class PoolUser:
    dag_id: str
    task_id: str
    tries: int
    slots: int


def pool_users(session: Session, pool: str, limit: int = 5) -> list[PoolUser]:
    """The tasks whose tries hold ``pool``'s slots now, most slots first."""
    slots = func.sum(TaskInstance.pool_slots)
    rows = session.execute(
        select(TaskInstance.dag_id, TaskInstance.task_id, func.count(), slots)
        .where(TaskInstance.pool == pool, TaskInstance.state.in_(OCCUPYING))
        .group_by(TaskInstance.dag_id, TaskInstance.task_id)
        .order_by(slots.desc())
        .limit(limit)
    ).all()
    return [PoolUser(dag_id, task_id, int(n), int(s or 0)) for dag_id, task_id, n, s in rows]


def occupying_tries(session: Session) -> int:
    """Tries that hold an executor slot (queued, running, restarting), over all DAGs."""
    return int(
        session.scalar(
            select(func.count()).select_from(TaskInstance).where(TaskInstance.state.in_(OCCUPYING))
        )
        or 0
    )


def running_runs(session: Session, dag_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.state == "running")
        )
        or 0
    )


def previous_state(
    session: Session, ti: TaskInstance, run: DagRun
) -> tuple[str, str | None] | None:
    """(run id, state) of the same task instance in the DAG's run before ``run`` (by logical
    date); None when there is no earlier run."""
    before = session.execute(
        select(DagRun.run_id)
        .where(DagRun.dag_id == run.dag_id, DagRun.logical_date < run.logical_date)
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    ).scalar()
    if before is None:
        return None
    state = session.scalar(
        select(TaskInstance.state).where(
            TaskInstance.dag_id == ti.dag_id,
            TaskInstance.run_id == before,
            TaskInstance.task_id == ti.task_id,
            TaskInstance.map_index == ti.map_index,
        )
    )
    return before, state
