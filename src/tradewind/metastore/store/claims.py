"""Claims of task tries by Celery workers (see :class:`TaskTryClaim`).

A broker may deliver a try's message more than once (a redelivery after the visibility
timeout, a broker reconnect, a resend by the scheduler). The worker that gets it first claims
the try with one INSERT; every later delivery finds the row and drops the message. A message
for a try that this metastore does not wait for (a stale one, or one of another installation
sharing the broker, or of a deleted run) claims nothing either.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.metastore.models import TaskInstance, TaskReschedule, TaskTryClaim
from tradewind.states import TaskState
from tradewind.workloads import Claim, TaskKey

__all__ = ["Claim", "claim", "claim_of"]


def claim(
    session: Session,
    key: TaskKey,
    *,
    worker: str,
    task_id: str,
    now: datetime,
    retried: bool = False,
) -> Claim:
    """Claim the try ``key`` for ``worker`` and commit. Only a try its task instance waits
    for (queued, at that try number) is claimed, once: a message delivered again finds it
    TAKEN; a stale one (sent before the try was cleared or failed for waiting too long) finds
    it NOT_WAITING; a message for a task instance this metastore does not have is UNKNOWN.

    The next poke of a sensor in reschedule mode, and the resumption of a try that deferred
    (same try number), take over the claim of what came before once that reschedule or
    deferral is recorded, and only once.

    ``retried`` says an earlier attempt of this same claim failed, perhaps after its COMMIT
    went through: a claim found with this worker, task id and time is ours.
    """
    if retried and _holder(claim_of(session, key)) == (worker, task_id, now):
        return Claim.CLAIMED
    waiting = session.execute(
        select(TaskInstance.state, TaskInstance.try_number).where(
            TaskInstance.dag_id == key.dag_id,
            TaskInstance.run_id == key.run_id,
            TaskInstance.task_id == key.task_id,
            TaskInstance.map_index == key.map_index,
        )
    ).first()
    session.rollback()  # only a look: the claim below is its own transaction
    if waiting is None:
        return Claim.UNKNOWN
    if tuple(waiting) != (TaskState.QUEUED.value, key.try_number):
        # A redelivery of a try that runs (or ran) finds its claim; a stale message none.
        taken = claim_of(session, key) is not None
        session.rollback()
        return Claim.TAKEN if taken else Claim.NOT_WAITING
    values = {"worker": worker, "celery_task_id": task_id, "claimed_at": now}
    session.add(TaskTryClaim(**_key_values(key), **values, reschedule_count=0))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    else:
        return Claim.CLAIMED
    phase = _phase(session, key)
    if not phase:
        return Claim.TAKEN
    result = session.execute(
        update(TaskTryClaim)
        .where(*_key_filter(key), TaskTryClaim.reschedule_count < phase)
        .values(**values, reschedule_count=phase)
    )
    session.commit()
    return Claim.CLAIMED if getattr(result, "rowcount", 0) == 1 else Claim.TAKEN


def claim_of(session: Session, key: TaskKey) -> TaskTryClaim | None:
    """The claim of the try ``key``, if a worker took it."""
    return session.get(
        TaskTryClaim, (key.dag_id, key.run_id, key.task_id, key.map_index, key.try_number)
    )


def _holder(found: TaskTryClaim | None) -> tuple[str, str, datetime] | None:
    """Who claimed the try, with which task id, when."""
    if found is None:
        return None
    return found.worker, found.celery_task_id, found.claimed_at


def _phase(session: Session, key: TaskKey) -> int:
    """How many times the try came back to the queue: its reschedules and its deferrals."""
    query = select(func.count()).select_from(TaskReschedule)
    query = query.where(*_key_filter(key, TaskReschedule))
    deferrals = select(TaskInstance.deferrals).where(
        TaskInstance.dag_id == key.dag_id,
        TaskInstance.run_id == key.run_id,
        TaskInstance.task_id == key.task_id,
        TaskInstance.map_index == key.map_index,
    )
    return int(session.scalar(query) or 0) + int(session.scalar(deferrals) or 0)


def _key_values(key: TaskKey) -> dict[str, object]:
    return {
        "dag_id": key.dag_id,
        "run_id": key.run_id,
        "task_id": key.task_id,
        "map_index": key.map_index,
        "try_number": key.try_number,
    }


def _key_filter(
    key: TaskKey, model: type[TaskTryClaim] | type[TaskReschedule] = TaskTryClaim
) -> list[ColumnElement[bool]]:
    return [
        model.dag_id == key.dag_id,
        model.run_id == key.run_id,
        model.task_id == key.task_id,
        model.map_index == key.map_index,
        model.try_number == key.try_number,
    ]
