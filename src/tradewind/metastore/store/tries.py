"""Queries of a task try's life: what is ready to queue (the room for it: store/room.py),
queued, running, finished (with its history row), restarting, and the reschedules of
sensors. A try is named by its :class:`~tradewind.workloads.TaskKey`, as the executors name
it. These run on the scheduler's hot path, so their statements are built once, with bound
parameters, and go through the tables rather than the ORM entities (several times cheaper).

The task instances themselves (created, decided, cleared, marked by hand): store/tasks.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    DagModel,
    DagRun,
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
)
from tradewind.metastore.store.tasks import (
    HISTORY_COLUMNS,
    RESTARTING,
    stored_state,
)
from tradewind.metastore.types import UtcDateTime
from tradewind.states import DagRunState, TaskState
from tradewind.workloads import TaskKey

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_HISTORY: Table = TaskInstanceHistory.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class TryRow:
    """Which try of which task instance, with the row's id (the columns of _TRY_COLUMNS)."""

    id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    @property
    def key(self) -> TaskKey:
        return TaskKey(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)


@dataclass(frozen=True)
class Queueable(TryRow):
    pool: str
    pool_slots: int
    queue: str
    priority_weight: int
    max_active_tasks: int
    serialized_dag_id: int | None  # its run's DAG version
    # A deferred try resuming: where, and with what (see Workload.next_method).
    next_method: str | None
    next_kwargs: dict[str, Any] | None
    deferrals: int


_DR: Table = DagRun.__table__  # type: ignore[assignment]
_DAG: Table = DagModel.__table__  # type: ignore[assignment]
# The columns of a TryRow, as the hot queries return them.
_TRY_COLUMNS = (
    _TI.c.id,
    _TI.c.dag_id,
    _TI.c.run_id,
    _TI.c.task_id,
    _TI.c.map_index,
    _TI.c.try_number,
)


def _scheduled(*conditions: ColumnElement[bool]) -> Select[Any]:
    return (
        select(
            *_TRY_COLUMNS,
            _TI.c.pool,
            _TI.c.pool_slots,
            _TI.c.queue,
            _TI.c.priority_weight,
            _DAG.c.max_active_tasks,
            _DR.c.serialized_dag_id,
            _TI.c.next_method,
            _TI.c.next_kwargs,
            _TI.c.deferrals,
        )
        .join(_DR, and_(_DR.c.dag_id == _TI.c.dag_id, _DR.c.run_id == _TI.c.run_id))
        .join(_DAG, _DAG.c.dag_id == _TI.c.dag_id)
        .where(
            _TI.c.state == TaskState.SCHEDULED.value,
            _DR.c.state == DagRunState.RUNNING.value,
            *conditions,
        )
        .order_by(_TI.c.priority_weight.desc(), _TI.c.scheduled_dttm, _TI.c.id)
        .limit(bindparam("limit"))
    )


_SCHEDULED = _scheduled(_DAG.c.is_paused.is_(False))
_SCHEDULED_OF_RUN = _scheduled(
    _TI.c.dag_id == bindparam("dag_id"), _TI.c.run_id == bindparam("run_id")
)


def scheduled_instances(
    session: Session, limit: int, *, run: tuple[str, str] | None = None
) -> list[Queueable]:
    """Scheduled tries of running runs of unpaused DAGs: highest priority first, then oldest.

    With ``run`` (dag id, run id): that run's only, whether its DAG is paused or not (``dags
    test`` drives one run of a DAG that stays paused).
    """
    if run is None:
        rows = session.execute(_SCHEDULED, {"limit": limit}).all()
    else:
        params = {"limit": limit, "dag_id": run[0], "run_id": run[1]}
        rows = session.execute(_SCHEDULED_OF_RUN, params).all()
    return [Queueable(*row) for row in rows]


_MARK_QUEUED = (
    update(_TI)
    .where(_TI.c.id == bindparam("k_id"), _TI.c.state == TaskState.SCHEDULED.value)
    .values(
        state=TaskState.QUEUED.value,
        queued_dttm=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
        queued_by_job_id=bindparam("job_id"),
        failure_reason=None,  # a new try: the last one's reason is in the history
    )
)


_MARK_QUEUED_MANY = (
    update(_TI)
    .where(
        _TI.c.id.in_(bindparam("ids", expanding=True)),
        _TI.c.state == TaskState.SCHEDULED.value,
    )
    .values(
        state=TaskState.QUEUED.value,
        queued_dttm=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
        queued_by_job_id=bindparam("job_id"),
        failure_reason=None,
    )
    .returning(_TI.c.id)
)


def mark_queued(session: Session, ti_id: int, *, job_id: int | None, now: datetime) -> bool:
    result = session.execute(_MARK_QUEUED, {"k_id": ti_id, "now": now, "job_id": job_id})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_queued_many(
    session: Session, ti_ids: Sequence[int], *, job_id: int | None, now: datetime
) -> set[int]:
    """scheduled -> queued for these tries; the ids that were still scheduled (now queued).

    One statement where the database can say which rows it changed (UPDATE ... RETURNING);
    one per try elsewhere (MariaDB).
    """
    if not ti_ids:
        return set()
    if session.get_bind().dialect.update_returning:
        params = {"ids": list(ti_ids), "now": now, "job_id": job_id}
        return set(session.scalars(_MARK_QUEUED_MANY, params).all())
    return {i for i in ti_ids if mark_queued(session, i, job_id=job_id, now=now)}


# The hot path's statements are built once, with bound parameters: building a statement costs
# more than running it on SQLite, and the scheduler runs these for every try it hears from.
_TRY_KEY = and_(
    _TI.c.dag_id == bindparam("k_dag_id"),
    _TI.c.run_id == bindparam("k_run_id"),
    _TI.c.task_id == bindparam("k_task_id"),
    _TI.c.map_index == bindparam("k_map_index"),
    _TI.c.try_number == bindparam("k_try_number"),
)
_MARK_RUNNING = (
    update(_TI)
    .where(_TRY_KEY, _TI.c.state == TaskState.QUEUED.value)
    .values(
        state=TaskState.RUNNING.value,
        start_date=func.coalesce(_TI.c.start_date, bindparam("v_now", type_=UtcDateTime())),
        pid=bindparam("v_pid"),
        hostname=bindparam("v_hostname"),
        last_heartbeat_at=bindparam("v_now", type_=UtcDateTime()),
        updated_at=bindparam("v_now", type_=UtcDateTime()),
    )
)


def _key_params(key: TaskKey) -> dict[str, Any]:
    return {
        "k_dag_id": key.dag_id,
        "k_run_id": key.run_id,
        "k_task_id": key.task_id,
        "k_map_index": key.map_index,
        "k_try_number": key.try_number,
    }


def mark_running(
    session: Session,
    key: TaskKey,
    *,
    pid: int | None,
    hostname: str | None,
    now: datetime,
) -> bool:
    """queued -> running for exactly this try; a late or duplicate message changes nothing."""
    result = session.execute(
        _MARK_RUNNING, {**_key_params(key), "v_now": now, "v_pid": pid, "v_hostname": hostname}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


_RESTARTING_TRY_ROW = select(_TI.c.id, *(_TI.c[c] for c in HISTORY_COLUMNS)).where(
    _TRY_KEY, _TI.c.state == RESTARTING
)
# Why a try cleared while it ran ended (its history row's failure_reason).
RESTARTED_REASON = "cleared while it ran: stopped, to run again"
# Back to none: the next decision about its run schedules it as a new try.
_RESTARTED = (
    update(_TI)
    .where(
        _TI.c.id == bindparam("k_id"),
        _TI.c.state == RESTARTING,
        _TI.c.try_number == bindparam("k_try_number"),
    )
    .values(
        state=None,
        start_date=None,
        end_date=None,
        duration=None,
        next_try_at=None,
        queued_by_job_id=None,
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)


_IS_RESTARTING = select(_TI.c.id).where(_TRY_KEY, _TI.c.state == RESTARTING)


def is_restarting(session: Session, key: TaskKey) -> bool:
    """Whether this try's task instance is restarting (cleared while the try ran)."""
    return session.execute(_IS_RESTARTING, _key_params(key)).first() is not None


def end_restart(
    session: Session,
    key: TaskKey,
    *,
    now: datetime,
    started: datetime | None = None,
) -> TryRow | None:
    """restarting -> none once this try's process has ended (None: not this try, or not
    restarting any more).

    The try goes to the history as failed, as Airflow records a try cleared while it ran;
    what it reported (its state, XComs, rendered fields) does not count.
    """
    row = session.execute(_RESTARTING_TRY_ROW, _key_params(key)).mappings().first()
    if row is None:
        return None
    return end_restart_row(session, row, now=now, started=started)


def end_restart_row(
    session: Session, row: RowMapping, *, now: datetime, started: datetime | None = None
) -> TryRow | None:
    """:func:`end_restart` for a row read by :func:`restarting_tries` or the like."""
    result = session.execute(
        _RESTARTED, {"k_id": row["id"], "k_try_number": row["try_number"], "now": now}
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    start = row["start_date"] or started or now
    session.execute(
        insert(_HISTORY).values(
            {
                **{column: row[column] for column in HISTORY_COLUMNS},
                "state": TaskState.FAILED.value,
                "start_date": start,
                "end_date": now,
                "duration": max(0.0, (now - start).total_seconds()),
                "failure_reason": RESTARTED_REASON,
            }
        )
    )
    return TryRow(
        row["id"],
        row["dag_id"],
        row["run_id"],
        row["task_id"],
        row["map_index"],
        row["try_number"],
    )


_RESTARTING_ROWS = select(
    _TI.c.id, *(_TI.c[c] for c in HISTORY_COLUMNS), _TI.c.queued_by_job_id
).where(_TI.c.state == RESTARTING)


def restarting_tries(session: Session) -> list[RowMapping]:
    """Every restarting task instance, with the history's columns and queued_by_job_id (a
    question of the sweep: the state is indexed, and restarting rows are few)."""
    return list(session.execute(_RESTARTING_ROWS).mappings().all())


_TRY_STATES = select(
    _TI.c.dag_id, _TI.c.run_id, _TI.c.task_id, _TI.c.map_index, _TI.c.try_number, _TI.c.state
).where(
    tuple_(_TI.c.dag_id, _TI.c.run_id, _TI.c.task_id, _TI.c.map_index).in_(
        bindparam("keys", expanding=True)
    )
)


def try_states(session: Session, keys: Iterable[TaskKey]) -> dict[TaskKey, tuple[int, TaskState]]:
    """The current try number and state of the task instance of each of these tries (those
    that exist), in one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    instances = list({(k.dag_id, k.run_id, k.task_id, k.map_index) for k in wanted})
    current = {
        (dag_id, run_id, task_id, map_index): (try_number, stored_state(state))
        for dag_id, run_id, task_id, map_index, try_number, state in session.execute(
            _TRY_STATES, {"keys": instances}
        ).all()
    }
    found = {k: current.get((k.dag_id, k.run_id, k.task_id, k.map_index)) for k in wanted}
    return {k: state for k, state in found.items() if state is not None}


def add_reschedule(
    session: Session, ti: TryRow, *, start: datetime, end: datetime, until: datetime
) -> None:
    session.add(
        TaskReschedule(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
            start_date=start,
            end_date=end,
            reschedule_date=until,
        )
    )


def set_external_ids(session: Session, ids: Sequence[tuple[int, str]]) -> None:
    """Remember how the executor names each queued try (its Celery task id, say)."""
    if ids:
        session.execute(
            update(_TI)
            .where(_TI.c.id == bindparam("k_id"))
            .values(external_executor_id=bindparam("v_external")),
            [{"k_id": ti_id, "v_external": external} for ti_id, external in ids],
        )
