"""Tries whose scheduler is gone: found, adopted by another scheduler, or reset to run again."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import TaskInstance, TaskInstanceHistory
from tradewind.metastore.store.tasks import ACTIVE, HISTORY_COLUMNS
from tradewind.states import TaskState

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
ORPHANED = "the scheduler that queued it is gone; it runs again as a new try"


def active_of_jobs(session: Session, *, alive_job_ids: Collection[int]) -> list[TaskInstance]:
    """Queued or running tries whose scheduler is not among the live ones (orphans)."""
    query = select(TaskInstance).where(TaskInstance.state.in_(ACTIVE))
    if alive_job_ids:
        query = query.where(
            or_(
                TaskInstance.queued_by_job_id.is_(None),
                TaskInstance.queued_by_job_id.not_in(list(alive_job_ids)),
            )
        )
    return list(session.scalars(query).all())


def reset_orphan(session: Session, ti: TaskInstance, *, now: datetime) -> bool:
    """Put an orphaned try back to scheduled, as a new try that does not use up a retry.

    A queued try may have started too (its running report not yet applied when its scheduler
    died), so the old try's number is never used again: a late report of it is then dropped,
    and its log is not mixed with the next one's. The old try goes to the history as failed.
    """
    result = session.execute(
        update(_TI)
        .where(TaskInstance.id == ti.id, TaskInstance.state == ti.state)
        .values(
            state=TaskState.SCHEDULED.value,
            scheduled_dttm=now,
            queued_by_job_id=None,
            updated_at=now,
            try_number=TaskInstance.try_number + 1,
            max_tries=TaskInstance.max_tries + 1,
            start_date=None,
            end_date=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False  # another scheduler reset it first
    # ``ti`` still holds the old try's values (the update did not synchronise it).
    session.execute(
        insert(TaskInstanceHistory).values(
            {
                **{column: getattr(ti, column) for column in HISTORY_COLUMNS},
                "state": TaskState.FAILED.value,
                "end_date": now,
                "failure_reason": ORPHANED,
            }
        )
    )
    return True


def adopt(session: Session, ti: TaskInstance, *, job_id: int, now: datetime) -> bool:
    """A dead scheduler's queued or running try is followed by ``job_id`` from now on."""
    result = session.execute(
        update(_TI)
        .where(
            _TI.c.id == ti.id,
            _TI.c.state == ti.state,
            _TI.c.try_number == ti.try_number,
            or_(_TI.c.queued_by_job_id.is_(None), _TI.c.queued_by_job_id == ti.queued_by_job_id),
        )
        .values(queued_by_job_id=job_id, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
