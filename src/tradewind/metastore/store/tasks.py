"""Queries about task instances. Every state change is one guarded UPDATE (WHERE state = ...)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    RowMapping,
    Table,
    and_,
    bindparam,
    case,
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
    Pool,
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
)
from tradewind.metastore.types import UtcDateTime
from tradewind.states import DagRunState, TaskState

ACTIVE = (TaskState.QUEUED.value, TaskState.RUNNING.value)
RESTARTING = TaskState.RESTARTING.value
# States whose try may still have a process: they hold their pool slots and count towards
# max_active_tasks (a restarting try until the executor reports that its process ended).
OCCUPYING = (*ACTIVE, RESTARTING)
# Updates go through the table, not the ORM entity: the scheduler issues them on its hot path,
# and Core statements skip the ORM's per-statement bookkeeping (several times cheaper).
_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
HISTORY_COLUMNS = (
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "state",
    "max_tries",
    "start_date",
    "end_date",
    "duration",
    "hostname",
    "pid",
    "pool",
    "pool_slots",
    "queue",
    "priority_weight",
    "operator",
    "queued_dttm",
    "scheduled_dttm",
    "external_executor_id",
    "failure_reason",
)
# A failure's reason is kept up to this many characters (a task's error is as long already).
MAX_REASON = 2000


@dataclass(frozen=True)
class NewTask:
    """The columns of a task instance that come from the task's definition."""

    task_id: str
    max_tries: int
    pool: str
    pool_slots: int
    queue: str
    priority_weight: int
    operator: str
    executor_config: Mapping[str, Any] | None


def _state(value: TaskState | str | None) -> str | None:
    if value is None or value == TaskState.NONE:
        return None
    return value.value if isinstance(value, TaskState) else value


def create_task_instances(session: Session, run: DagRun, tasks: Iterable[NewTask]) -> int:
    """Rows in state none for the tasks of a run that has none yet (idempotent per task)."""
    existing = set(
        session.scalars(
            select(TaskInstance.task_id).where(
                TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id
            )
        )
    )
    rows = [
        {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "task_id": t.task_id,
            "map_index": -1,
            "state": None,
            "try_number": 0,
            "max_tries": t.max_tries,
            "pool": t.pool,
            "pool_slots": t.pool_slots,
            "queue": t.queue,
            "priority_weight": t.priority_weight,
            "operator": t.operator,
            "executor_config": dict(t.executor_config) if t.executor_config else None,
        }
        for t in tasks
        if t.task_id not in existing
    ]
    if rows:
        session.execute(insert(TaskInstance), rows)
    return len(rows)


_RUN_KEY = and_(_TI.c.dag_id == bindparam("r_dag_id"), _TI.c.run_id == bindparam("r_run_id"))
_STATES_OF_RUN = select(_TI.c.task_id, _TI.c.state).where(_RUN_KEY)


def states_of_run(session: Session, dag_id: str, run_id: str) -> dict[str, TaskState]:
    rows = session.execute(_STATES_OF_RUN, {"r_dag_id": dag_id, "r_run_id": run_id}).all()
    return {task_id: TaskState(state or TaskState.NONE) for task_id, state in rows}


def instances_of_run(session: Session, dag_id: str, run_id: str) -> list[TaskInstance]:
    return list(
        session.scalars(
            select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
            .order_by(TaskInstance.task_id)
        ).all()
    )


def get_instance(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstance | None:
    return session.scalar(
        select(TaskInstance).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    )


# set_states' statements: the tasks of one run among ``task_ids`` still in an ``expected``
# state (NULL is spelled "none" there, so that one expanding list says it all).
_UNDECIDED_WHERE = and_(
    _RUN_KEY,
    _TI.c.task_id.in_(bindparam("task_ids", expanding=True)),
    func.coalesce(_TI.c.state, TaskState.NONE.value).in_(bindparam("expected", expanding=True)),
)
_SELECT_CHANGING = select(_TI.c.task_id).where(_UNDECIDED_WHERE)
_TO_SCHEDULED: dict[str, Any] = {
    "state": TaskState.SCHEDULED.value,
    "updated_at": bindparam("now", type_=UtcDateTime()),
    "scheduled_dttm": bindparam("now", type_=UtcDateTime()),
    "next_try_at": None,
}
_NEW_TRY = (
    update(_TI)
    .where(_UNDECIDED_WHERE, _TI.c.state.is_distinct_from(TaskState.UP_FOR_RESCHEDULE.value))
    .values(
        **_TO_SCHEDULED,
        try_number=_TI.c.try_number + 1,
        start_date=None,
        end_date=None,
        duration=None,
    )
)
_SAME_TRY = update(_TI).where(_UNDECIDED_WHERE).values(**_TO_SCHEDULED)
_TO_DONE_UNRUN = (
    update(_TI)
    .where(_UNDECIDED_WHERE)
    .values(
        state=bindparam("v_state"),
        updated_at=bindparam("now", type_=UtcDateTime()),
        end_date=bindparam("now", type_=UtcDateTime()),
        start_date=func.coalesce(_TI.c.start_date, bindparam("now", type_=UtcDateTime())),
        duration=0.0,
    )
)
_TO_STATE = (
    update(_TI)
    .where(_UNDECIDED_WHERE)
    .values(state=bindparam("v_state"), updated_at=bindparam("now", type_=UtcDateTime()))
)
# Where UPDATE ... RETURNING exists and SET reads the row as it was (PostgreSQL, SQLite; not
# MySQL, whose SET sees the values assigned before it), each change is one statement.
_RESCHEDULED = _TI.c.state == TaskState.UP_FOR_RESCHEDULE.value
_SCHEDULE_RETURNING = (
    update(_TI)
    .where(_UNDECIDED_WHERE)
    .values(
        **_TO_SCHEDULED,
        try_number=case((_RESCHEDULED, _TI.c.try_number), else_=_TI.c.try_number + 1),
        start_date=case((_RESCHEDULED, _TI.c.start_date), else_=None),
        end_date=case((_RESCHEDULED, _TI.c.end_date), else_=None),
        duration=case((_RESCHEDULED, _TI.c.duration), else_=None),
    )
    .returning(_TI.c.task_id)
)
_RETURNING = {
    TaskState.SKIPPED: _TO_DONE_UNRUN.returning(_TI.c.task_id),
    TaskState.UPSTREAM_FAILED: _TO_DONE_UNRUN.returning(_TI.c.task_id),
    TaskState.SCHEDULED: _SCHEDULE_RETURNING,
}
_TO_STATE_RETURNING = _TO_STATE.returning(_TI.c.task_id)


def set_states(
    session: Session,
    dag_id: str,
    run_id: str,
    changes: Mapping[str, TaskState],
    *,
    expected: Collection[TaskState],
    now: datetime,
) -> list[str]:
    """Apply decided states to tasks still in an ``expected`` state; returns those changed.

    Moving to scheduled starts a new try (try_number + 1), except after a reschedule, which
    continues the same try.
    """
    changed: list[str] = []
    returning = session.get_bind().dialect.name in ("postgresql", "sqlite")
    by_state: dict[TaskState, list[str]] = {}
    for task_id, state in changes.items():
        by_state.setdefault(state, []).append(task_id)
    for state, task_ids in by_state.items():
        params: dict[str, Any] = {
            "r_dag_id": dag_id,
            "r_run_id": run_id,
            "task_ids": task_ids,
            "expected": [s.value for s in expected],
            "now": now,
            "v_state": _state(state),
        }
        if returning:
            statement = _RETURNING.get(state, _TO_STATE_RETURNING)
            changed.extend(session.scalars(statement, params).all())
            continue
        ids = session.scalars(_SELECT_CHANGING, params).all()
        if not ids:
            continue
        if state is TaskState.SCHEDULED:
            session.execute(_NEW_TRY, params)
            session.execute(_SAME_TRY, params)
        elif state in (TaskState.SKIPPED, TaskState.UPSTREAM_FAILED):
            session.execute(_TO_DONE_UNRUN, params)
        else:
            session.execute(_TO_STATE, params)
        changed.extend(ids)
    return changed


@dataclass(frozen=True)
class TryRow:
    """Which try of which task instance, with the row's id (the columns of _TRY_COLUMNS)."""

    id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int


@dataclass(frozen=True)
class Queueable(TryRow):
    pool: str
    pool_slots: int
    queue: str
    priority_weight: int
    max_active_tasks: int


_DR: Table = DagRun.__table__  # type: ignore[assignment]
_DAG: Table = DagModel.__table__  # type: ignore[assignment]
_POOL: Table = Pool.__table__  # type: ignore[assignment]
# The columns of a TryRow, as the hot queries return them.
_TRY_COLUMNS = (
    _TI.c.id,
    _TI.c.dag_id,
    _TI.c.run_id,
    _TI.c.task_id,
    _TI.c.map_index,
    _TI.c.try_number,
)
_SCHEDULED = (
    select(
        *_TRY_COLUMNS,
        _TI.c.pool,
        _TI.c.pool_slots,
        _TI.c.queue,
        _TI.c.priority_weight,
        _DAG.c.max_active_tasks,
    )
    .join(_DR, and_(_DR.c.dag_id == _TI.c.dag_id, _DR.c.run_id == _TI.c.run_id))
    .join(_DAG, _DAG.c.dag_id == _TI.c.dag_id)
    .where(
        _TI.c.state == TaskState.SCHEDULED.value,
        _DR.c.state == DagRunState.RUNNING.value,
        _DAG.c.is_paused.is_(False),
    )
    .order_by(_TI.c.priority_weight.desc(), _TI.c.scheduled_dttm, _TI.c.id)
    .limit(bindparam("limit"))
)


def scheduled_instances(session: Session, limit: int) -> list[Queueable]:
    """Scheduled tries of running runs of unpaused DAGs: highest priority first, then oldest."""
    rows = session.execute(_SCHEDULED, {"limit": limit}).all()
    return [Queueable(*row) for row in rows]


_POOL_SLOTS = select(_POOL.c.pool, _POOL.c.slots)
_POOL_SLOTS_LOCKED = _POOL_SLOTS.with_for_update()
_POOL_USED = (
    select(_TI.c.pool, func.sum(_TI.c.pool_slots))
    .where(_TI.c.state.in_(OCCUPYING))
    .group_by(_TI.c.pool)
)


def pool_room(session: Session, *, lock: bool) -> dict[str, int]:
    """Free slots per pool (slots minus the slots of queued, running and restarting tries).

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
_MARK_FINISHED = (
    update(_TI)
    .where(_TI.c.id == bindparam("k_id"), _TI.c.state.in_(ACTIVE))
    .values(
        state=bindparam("v_state"),
        start_date=bindparam("v_start", type_=UtcDateTime()),
        end_date=bindparam("v_end", type_=UtcDateTime()),
        duration=bindparam("v_duration"),
        next_try_at=bindparam("v_next", type_=UtcDateTime()),
        updated_at=bindparam("v_end", type_=UtcDateTime()),
        pid=func.coalesce(bindparam("v_pid"), _TI.c.pid),
        hostname=func.coalesce(bindparam("v_hostname"), _TI.c.hostname),
        failure_reason=bindparam("v_reason"),
    )
)
_HISTORY: Table = TaskInstanceHistory.__table__  # type: ignore[assignment]
_TO_HISTORY = insert(_HISTORY).from_select(
    list(HISTORY_COLUMNS),
    select(*(_TI.c[c] for c in HISTORY_COLUMNS)).where(_TI.c.id == bindparam("k_id")),
)


def _key_params(key: tuple[str, str, str, int, int]) -> dict[str, Any]:
    dag_id, run_id, task_id, map_index, try_number = key
    return {
        "k_dag_id": dag_id,
        "k_run_id": run_id,
        "k_task_id": task_id,
        "k_map_index": map_index,
        "k_try_number": try_number,
    }


def mark_running(
    session: Session,
    key: tuple[str, str, str, int, int],
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


@dataclass(frozen=True)
class FinishedTry(TryRow):
    """The row of a try that just finished, as the scheduler needs it afterwards."""

    start_date: datetime | None


_ACTIVE_TRY_ROW = select(*_TRY_COLUMNS, _TI.c.start_date).where(_TRY_KEY, _TI.c.state.in_(ACTIVE))


def mark_finished(
    session: Session,
    key: tuple[str, str, str, int, int],
    state: TaskState,
    *,
    now: datetime,
    next_try_at: datetime | None = None,
    running: tuple[datetime, int | None, str | None] | None = None,
    reason: str | None = None,
) -> FinishedTry | None:
    """queued|running -> a finished (or waiting) state for exactly this try; None if too late.

    ``running`` is the try's running report (when, pid, host) if it came in the same batch:
    both are then recorded by this one UPDATE. ``reason`` is why the try failed, if it did.
    """
    row = session.execute(_ACTIVE_TRY_ROW, _key_params(key)).first()
    if row is None:
        return None
    started_at, pid, hostname = running or (None, None, None)
    started = row.start_date or started_at or now
    result = session.execute(
        _MARK_FINISHED,
        {
            "k_id": row.id,
            "v_state": state.value,
            "v_start": started,
            "v_end": now,
            "v_duration": (now - started).total_seconds(),
            "v_next": next_try_at,
            "v_pid": pid,
            "v_hostname": hostname,
            "v_reason": reason[:MAX_REASON] if reason else None,
        },
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    if state is not TaskState.UP_FOR_RESCHEDULE:
        session.execute(_TO_HISTORY, {"k_id": row.id})
    return FinishedTry(*row[:6], start_date=started)


_RESTARTING_TRY_ROW = select(_TI.c.id, *(_TI.c[c] for c in HISTORY_COLUMNS)).where(
    _TRY_KEY, _TI.c.state == RESTARTING
)
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


def is_restarting(session: Session, key: tuple[str, str, str, int, int]) -> bool:
    """Whether this try's task instance is restarting (cleared while the try ran)."""
    return session.execute(_IS_RESTARTING, _key_params(key)).first() is not None


def end_restart(
    session: Session,
    key: tuple[str, str, str, int, int],
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
                "failure_reason": "cleared while it ran: stopped, to run again",
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


def try_states(
    session: Session, keys: Iterable[tuple[str, str, str, int]]
) -> dict[tuple[str, str, str, int], tuple[int, TaskState]]:
    """The current try number and state of these task instances, in one query."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = session.execute(_TRY_STATES, {"keys": wanted}).all()
    return {
        (dag_id, run_id, task_id, map_index): (try_number, TaskState(state or TaskState.NONE))
        for dag_id, run_id, task_id, map_index, try_number, state in rows
    }


def add_reschedule(
    session: Session, ti: FinishedTry, *, start: datetime, end: datetime, until: datetime
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


_WAITING = TaskInstance.state.in_([TaskState.UP_FOR_RETRY.value, TaskState.UP_FOR_RESCHEDULE.value])
_DUE_WAITING = (
    select(TaskInstance)
    .where(_WAITING, TaskInstance.next_try_at <= bindparam("now"))
    .limit(bindparam("limit"))
)
_NEXT_WAITING = select(func.min(TaskInstance.next_try_at)).where(_WAITING)


def due_waiting(session: Session, now: datetime, limit: int) -> list[TaskInstance]:
    """up_for_retry / up_for_reschedule tries whose wait is over."""
    return list(session.scalars(_DUE_WAITING, {"now": now, "limit": limit}).all())


def next_waiting_time(session: Session) -> datetime | None:
    return session.scalar(_NEXT_WAITING)


def past_states(
    session: Session, dag_id: str, run_id: str, task_ids: Collection[str]
) -> dict[str, TaskState]:
    if not task_ids:
        return {}
    rows = session.execute(
        select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id.in_(list(task_ids)),
        )
    ).all()
    return {task_id: TaskState(state or TaskState.NONE) for task_id, state in rows}


def clear(
    session: Session, dag_id: str, run_id: str, task_ids: Collection[str], *, now: datetime
) -> list[int]:
    """Clear task instances so they run again; returns the row ids of those now restarting.

    Each gets its retries afresh, as in Airflow: max_tries becomes try_number + retries.
    A queued or running one (its try may have a process) becomes restarting, as in Airflow,
    and keeps its try number and everything else: the scheduler that queued it stops the
    process, and only when that try has ended does the instance go to none (see
    :func:`end_restart`), so two tries of it never run at once. The others go to none now.
    """
    if not task_ids:
        return []
    query = select(_TI.c.id, _TI.c.state, _TI.c.try_number, _TI.c.max_tries).where(
        _TI.c.dag_id == dag_id,
        _TI.c.run_id == run_id,
        _TI.c.task_id.in_(list(task_ids)),
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


# ---- hand-made changes of task instances (their reads: store/instances.py) ------------------


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
        if _state(new) == old:
            continue
        start = started or now
        result = session.execute(
            update(_TI)
            .where(_TI.c.id == ti_id, _TI.c.state.is_not_distinct_from(old))
            .values(
                state=_state(new),
                start_date=start,
                end_date=now,
                duration=max(0.0, (now - start).total_seconds()),
                next_try_at=None,
                updated_at=now,
                failure_reason=None,  # marked by hand: the audit log says who
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            continue
        changed.append(ti_id)
        if old in OCCUPYING:
            session.execute(_TO_HISTORY, {"k_id": ti_id})
    return changed


def set_external_ids(session: Session, ids: Sequence[tuple[int, str]]) -> None:
    """Remember how the executor names each queued try (its Celery task id, say)."""
    if ids:
        session.execute(
            update(_TI)
            .where(_TI.c.id == bindparam("k_id"))
            .values(external_executor_id=bindparam("v_external")),
            [{"k_id": ti_id, "v_external": external} for ti_id, external in ids],
        )
