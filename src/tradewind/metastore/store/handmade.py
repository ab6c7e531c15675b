"""Changes of task instances that people ask for (through the UI, the API or the CLI):
clearing them to run again, and setting their states by hand. Their reads are in
:mod:`tradewind.metastore.store.instances`; the scheduler's own changes in
:mod:`tradewind.metastore.store.tasks`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.store.tasks import (
    FRESH_START,
    OCCUPYING,
    RESTARTING,
    TO_HISTORY,
    state_value,
)
from tradewind.metastore.store.tasks import (
    TI_TABLE as _TI,
)
from tradewind.states import TaskState


def clear(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[str],
    *,
    now: datetime,
    map_indexes: Mapping[str, Collection[int]] | None = None,
) -> list[int]:
    """Clear task instances so they run again; returns the row ids of those now restarting.

    Every instance of each task is cleared, except for the tasks in ``map_indexes``: of those,
    only the instances of the map indexes given (a mapped task's instances one by one).
    A mapped task's instances keep their rows and try numbers: cleared, each is run again.

    Each gets its retries afresh, as in Airflow: max_tries becomes try_number + retries.
    A queued or running one (its try may have a process) becomes restarting, as in Airflow,
    and keeps its try number and everything else: the scheduler that queued it stops the
    process, and only when that try has ended does the instance go to none (see
    :func:`end_restart`), so two tries of it never run at once. The others go to none now.
    """
    if not task_ids:
        return []
    some = map_indexes or {}
    picked: Any = _TI.c.task_id.in_([t for t in task_ids if t not in some])
    for task_id in set(task_ids) & set(some):
        picked = picked | and_(_TI.c.task_id == task_id, _TI.c.map_index.in_(list(some[task_id])))
    query = select(_TI.c.id, _TI.c.state, _TI.c.try_number, _TI.c.max_tries).where(
        _TI.c.dag_id == dag_id, _TI.c.run_id == run_id, picked
    )
    if session.get_bind().dialect.name != "sqlite":
        # The scheduler may finish or start a try meanwhile: the state read must hold.
        query = query.with_for_update()
    restarting: list[int] = []
    for ti_id, state, try_number, max_tries in session.execute(query).all():
        retries = max(0, max_tries - max(0, try_number - 1))
        if state in OCCUPYING:
            values: dict[str, Any] = {"state": RESTARTING}
            restarting.append(ti_id)
        else:
            values = {
                "state": None,
                **FRESH_START,
                "trigger_timeout": None,
                "end_date": None,
                "start_date": None,
                "duration": None,
                "queued_by_job_id": None,
                "failure_reason": None,
            }
        session.execute(
            update(_TI)
            .where(_TI.c.id == ti_id, _TI.c.state.is_not_distinct_from(state))
            .values(**values, max_tries=try_number + retries, next_try_at=None, updated_at=now)
        )
    return restarting


def set_instance_states(
    session: Session, changes: Mapping[int, TaskState], *, now: datetime
) -> list[int]:
    """Set task instances (by row id) to finished states by hand; returns the ids changed.

    Each update is guarded by the state read first (locked where rows can be): a state the
    scheduler wrote in between is not overwritten. A queued, running or restarting try ends
    here, so it goes to the history as marked; its own late report then finds it no longer
    active and is dropped (see :func:`mark_finished`), and the scheduler stops its process.
    """
    if not changes:
        return []
    query = select(_TI.c.id, _TI.c.state, _TI.c.start_date).where(_TI.c.id.in_(list(changes)))
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    changed = []
    for ti_id, old, started in session.execute(query).all():
        new = changes[ti_id]
        if state_value(new) == old:
            continue
        start = started or now
        result = session.execute(
            update(_TI)
            .where(_TI.c.id == ti_id, _TI.c.state.is_not_distinct_from(old))
            .values(
                state=state_value(new),
                start_date=start,
                end_date=now,
                duration=max(0.0, (now - start).total_seconds()),
                next_try_at=None,
                updated_at=now,
                failure_reason=None,  # marked by hand: the audit log says who
                **FRESH_START,
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            continue
        changed.append(ti_id)
        if old in OCCUPYING:
            session.execute(TO_HISTORY, {"k_id": ti_id})
    return changed
