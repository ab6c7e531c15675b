"""What a scheduler committed when it could not learn whether its commit went through (the
connection to the metastore was lost during COMMIT): which tries it queued, which runs it
finished."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, bindparam, select, tuple_
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, TaskInstance
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_RUN: Table = DagRun.__table__  # type: ignore[assignment]

_QUEUED_BY = select(
    _TI.c.dag_id, _TI.c.run_id, _TI.c.task_id, _TI.c.map_index, _TI.c.try_number
).where(
    tuple_(_TI.c.dag_id, _TI.c.run_id, _TI.c.task_id, _TI.c.map_index).in_(
        bindparam("keys", expanding=True)
    ),
    _TI.c.state == TaskState.QUEUED.value,
    _TI.c.queued_by_job_id == bindparam("job_id"),
)
_RUN_STATES = select(_RUN.c.dag_id, _RUN.c.run_id, _RUN.c.state).where(
    tuple_(_RUN.c.dag_id, _RUN.c.run_id).in_(bindparam("keys", expanding=True))
)


def queued_by(session: Session, job_id: int | None, tries: Iterable[TaskKey]) -> set[TaskKey]:
    """Those of ``tries`` that are queued by the scheduler ``job_id``, at that try."""
    wanted = set(tries)
    if not wanted or job_id is None:
        return set()
    instances = {(k.dag_id, k.run_id, k.task_id, k.map_index) for k in wanted}
    params = {"keys": sorted(instances), "job_id": job_id}
    found = {TaskKey(*row) for row in session.execute(_QUEUED_BY, params).all()}
    return wanted & found


def run_states(session: Session, runs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The state of each of these runs (dag_id, run_id) that exists."""
    wanted = sorted(set(runs))
    if not wanted:
        return {}
    rows = session.execute(_RUN_STATES, {"keys": wanted}).all()
    return {(dag_id, run_id): state for dag_id, run_id, state in rows}
