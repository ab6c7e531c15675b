"""The room to queue tries in, as the scheduler reads it once per pass: free slots per pool,
and the tries that occupy a slot (queued, running, restarting) per DAG, and per task and run
for the tasks that have a limit of their own (``max_active_tis_per_dag[run]``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Table, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from tradewind.metastore.models import Pool, TaskInstance
from tradewind.metastore.store.tasks import OCCUPYING
from tradewind.states import TaskState

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_POOL: Table = Pool.__table__  # type: ignore[assignment]

_POOL_SLOTS = select(_POOL.c.pool, _POOL.c.slots)
_POOL_SLOTS_LOCKED = _POOL_SLOTS.with_for_update()
# Deferred tries take their pool's slots only in a pool with include_deferred (as Airflow's).
_DEFERRED_POOLS = select(_POOL.c.pool).where(_POOL.c.include_deferred.is_(True))
_POOL_USED = (
    select(_TI.c.pool, func.sum(_TI.c.pool_slots))
    .where(
        or_(
            _TI.c.state.in_(OCCUPYING),
            and_(
                _TI.c.state == TaskState.DEFERRED.value,
                _TI.c.pool.in_(_DEFERRED_POOLS.scalar_subquery()),
            ),
        )
    )
    .group_by(_TI.c.pool)
)


def pool_room(session: Session, *, lock: bool) -> dict[str, int]:
    """Free slots per pool (slots minus the slots of queued, running and restarting tries,
    and of deferred ones in pools that include them).

    With ``lock`` the pool rows are locked until commit, so schedulers sharing a database
    queue against pools one at a time and never overfill them.
    """
    locking = lock and session.get_bind().dialect.name != "sqlite"
    rows = session.execute(_POOL_SLOTS_LOCKED if locking else _POOL_SLOTS).all()
    slots: dict[str, int] = {name: int(count) for name, count in rows}
    used = {name: int(total or 0) for name, total in session.execute(_POOL_USED).all()}
    return {pool: total - used.get(pool, 0) for pool, total in slots.items()}


_ACTIVE_BY_DAG = (
    select(_TI.c.dag_id, func.count())
    .where(_TI.c.dag_id.in_(bindparam("dag_ids", expanding=True)), _TI.c.state.in_(OCCUPYING))
    .group_by(_TI.c.dag_id)
)


def active_counts_by_dag(session: Session, dag_ids: Sequence[str]) -> dict[str, int]:
    if not dag_ids:
        return {}
    rows = session.execute(_ACTIVE_BY_DAG, {"dag_ids": list(dag_ids)}).all()
    return {dag_id: int(count) for dag_id, count in rows}


_ACTIVE_BY_TASK_AND_RUN = (
    select(_TI.c.dag_id, _TI.c.task_id, _TI.c.run_id, func.count())
    .where(
        tuple_(_TI.c.dag_id, _TI.c.task_id).in_(bindparam("tasks", expanding=True)),
        _TI.c.state.in_(OCCUPYING),
    )
    .group_by(_TI.c.dag_id, _TI.c.task_id, _TI.c.run_id)
)


def active_counts_by_task_and_run(
    session: Session, tasks: Collection[tuple[str, str]]
) -> dict[tuple[str, str, str], int]:
    """Tries occupying a slot per (dag_id, task_id, run_id), for these (dag_id, task_id): one
    grouped query (the sum over runs is the count per task)."""
    if not tasks:
        return {}
    rows = session.execute(_ACTIVE_BY_TASK_AND_RUN, {"tasks": sorted(tasks)}).all()
    return {(dag_id, task_id, run_id): int(n) for dag_id, task_id, run_id, n in rows}
