"""Queries of the scheduler about deferred task instances: a try that defers (its trigger row
and where it resumes), and deferred instances whose trigger_timeout passed. The triggerer's own
queries (claiming and firing triggers) are in :mod:`tradewind.metastore.store.triggers`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import TaskInstance, Trigger
from tradewind.metastore.types import UtcDateTime
from tradewind.reports import FAIL_METHOD, Deferral
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_TRIGGER: Table = Trigger.__table__  # type: ignore[assignment]
DEFERRED = TaskState.DEFERRED.value

_DEFER = (
    update(_TI)
    .where(
        _TI.c.dag_id == bindparam("k_dag_id"),
        _TI.c.run_id == bindparam("k_run_id"),
        _TI.c.task_id == bindparam("k_task_id"),
        _TI.c.map_index == bindparam("k_map_index"),
        _TI.c.try_number == bindparam("k_try_number"),
        _TI.c.state.in_([TaskState.QUEUED.value, TaskState.RUNNING.value]),
    )
    .values(
        state=DEFERRED,
        trigger_id=bindparam("v_trigger_id"),
        trigger_timeout=bindparam("v_timeout", type_=UtcDateTime()),
        next_method=bindparam("v_method"),
        next_kwargs=bindparam("v_kwargs", type_=_TI.c.next_kwargs.type),
        deferrals=_TI.c.deferrals + 1,
        start_date=func.coalesce(_TI.c.start_date, bindparam("v_start", type_=UtcDateTime())),
        pid=func.coalesce(bindparam("v_pid"), _TI.c.pid),
        hostname=func.coalesce(bindparam("v_hostname"), _TI.c.hostname),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)


def defer(
    session: Session,
    key: TaskKey,
    deferral: Deferral,
    *,
    now: datetime,
    running: tuple[datetime, int | None, str | None] | None = None,
) -> bool:
    """queued|running -> deferred for exactly this try: its trigger row is added and the
    instance points at it, with where it resumes. False (nothing written) if too late."""
    started_at, pid, hostname = running or (now, None, None)
    where = {
        "k_dag_id": key.dag_id,
        "k_run_id": key.run_id,
        "k_task_id": key.task_id,
        "k_map_index": key.map_index,
        "k_try_number": key.try_number,
        "v_start": started_at,
        "v_pid": pid,
        "v_hostname": hostname,
    }
    return _point_at_trigger(session, _DEFER, where, deferral, now)


def _point_at_trigger(
    session: Session, statement: Any, params: dict[str, Any], deferral: Deferral, now: datetime
) -> bool:
    """Add ``deferral``'s trigger row and run ``statement`` (with ``params``) that points an
    instance at it; the row goes again when the statement changed nothing."""
    trigger = Trigger(classpath=deferral.classpath, kwargs=dict(deferral.kwargs), created_date=now)
    session.add(trigger)
    session.flush()
    timeout = None if deferral.timeout is None else now + timedelta(seconds=deferral.timeout)
    result: Any = session.execute(
        statement,
        {
            **params,
            "v_trigger_id": trigger.id,
            "v_timeout": timeout,
            "v_method": deferral.method,
            "v_kwargs": dict(deferral.method_kwargs) if deferral.method_kwargs else None,
            "now": now,
        },
    )
    changed = result.rowcount
    if not changed:
        session.execute(delete(_TRIGGER).where(_TRIGGER.c.id == trigger.id))
    return bool(changed)


_START_DEFERRED = (
    update(_TI)
    .where(_TI.c.id == bindparam("k_id"), _TI.c.state == TaskState.SCHEDULED.value)
    .values(
        state=DEFERRED,
        trigger_id=bindparam("v_trigger_id"),
        trigger_timeout=bindparam("v_timeout", type_=UtcDateTime()),
        next_method=bindparam("v_method"),
        next_kwargs=bindparam("v_kwargs", type_=_TI.c.next_kwargs.type),
        deferrals=_TI.c.deferrals + 1,
        start_date=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)


def start_deferred(session: Session, ti_id: int, deferral: Deferral, *, now: datetime) -> bool:
    """scheduled -> deferred without a process (``start_from_trigger``): the try begins in the
    triggerer with ``deferral``'s trigger. False (nothing written) if it was not scheduled."""
    return _point_at_trigger(session, _START_DEFERRED, {"k_id": ti_id}, deferral, now)


_PAST_TIMEOUT = (
    select(_TI.c.id)
    .where(_TI.c.state == DEFERRED, _TI.c.trigger_timeout <= bindparam("now"))
    .limit(bindparam("limit"))
)
_TIME_OUT = (
    update(_TI)
    .where(_TI.c.id.in_(bindparam("ids", expanding=True)), _TI.c.state == DEFERRED)
    .values(
        state=TaskState.SCHEDULED.value,
        trigger_id=None,
        trigger_timeout=None,
        next_method=FAIL_METHOD,
        next_kwargs=bindparam("v_kwargs", type_=_TI.c.next_kwargs.type),
        scheduled_dttm=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
TIMED_OUT: dict[str, Any] = {
    "error": "the trigger did not fire within the deferral's timeout",
    "timeout": True,
}


def time_out(session: Session, now: datetime, limit: int) -> int:
    """Deferred instances past their trigger_timeout go back to scheduled, to fail (the
    resumed try raises the timeout); returns how many."""
    ids = session.scalars(_PAST_TIMEOUT, {"now": now, "limit": limit}).all()
    if ids:
        session.execute(_TIME_OUT, {"ids": list(ids), "now": now, "v_kwargs": TIMED_OUT})
    return len(ids)


_NEXT_TIMEOUT = select(func.min(_TI.c.trigger_timeout)).where(_TI.c.state == DEFERRED)


def next_timeout(session: Session) -> datetime | None:
    """When the next deferred instance times out (None: none waits with a timeout)."""
    found: datetime | None = session.scalar(_NEXT_TIMEOUT)
    return found


def trigger_of(session: Session, trigger_id: int | None) -> Trigger | None:
    """The trigger a deferred instance waits on (None: none, or it is gone)."""
    return None if trigger_id is None else session.get(Trigger, trigger_id)
