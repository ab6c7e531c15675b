"""Queries about task instances. Every state change is one guarded UPDATE (WHERE state = ...)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
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

from tradewind.metastore.models import DagRun, TaskInstance, TaskInstanceHistory
from tradewind.metastore.types import UtcDateTime
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

ACTIVE = (TaskState.QUEUED.value, TaskState.RUNNING.value)
RESTARTING = TaskState.RESTARTING.value
# States whose try may still have a process: they hold their pool slots and count towards
# max_active_tasks (a restarting try until the executor reports that its process ended).
OCCUPYING = (*ACTIVE, RESTARTING)
# Updates go through the table, not the ORM entity: the scheduler issues them on its hot path,
# and Core statements skip the ORM's per-statement bookkeeping (several times cheaper).
_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
TI_TABLE = _TI  # for the other store modules that update task instances
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
    "rendered_map_index",
)
# A mapped instance's readable name is kept up to this many characters (its column's size).
MAX_MAP_NAME = 250
# A failure's reason is kept up to this many characters (a task's error is as long already).
MAX_REASON = 2000
_HISTORY: Table = TaskInstanceHistory.__table__  # type: ignore[assignment]
# Copies a task instance's try (``k_id``) into task_instance_history, as it ends.
TO_HISTORY = insert(_HISTORY).from_select(
    list(HISTORY_COLUMNS),
    select(*(_TI.c[c] for c in HISTORY_COLUMNS)).where(_TI.c.id == bindparam("k_id")),
)


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

    def row(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The columns of a new instance of it in a run, in state none (all but map_index)."""
        return {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": self.task_id,
            "state": None,
            "try_number": 0,
            "max_tries": self.max_tries,
            "pool": self.pool,
            "pool_slots": self.pool_slots,
            "queue": self.queue,
            "priority_weight": self.priority_weight,
            "operator": self.operator,
            "executor_config": dict(self.executor_config) if self.executor_config else None,
        }


def state_value(value: TaskState | str | None) -> str | None:
    """A state as its column holds it (none is NULL)."""
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
        {**t.row(run.dag_id, run.run_id), "map_index": -1}
        for t in tasks
        if t.task_id not in existing
    ]
    if rows:
        session.execute(insert(TaskInstance), rows)
    return len(rows)


_RUN_KEY = and_(_TI.c.dag_id == bindparam("r_dag_id"), _TI.c.run_id == bindparam("r_run_id"))
_STATES_OF_RUN = select(_TI.c.task_id, _TI.c.map_index, _TI.c.state).where(_RUN_KEY)

# A stored state's TaskState (a dictionary look-up: read for every instance of a run, in
# every pass of the scheduler, where calling the enum cost more than the read itself).
_STATE_OF: dict[str | None, TaskState] = {None: TaskState.NONE, "": TaskState.NONE}
_STATE_OF.update((s.value, s) for s in TaskState)


def stored_state(value: str | None) -> TaskState:
    """The TaskState of a state column's value (NULL and empty: none)."""
    return _STATE_OF[value]


def states_of_run(session: Session, dag_id: str, run_id: str) -> dict[str, TaskState]:
    """The state of each task of a run (of one of its instances, for a mapped task)."""
    rows = session.execute(_STATES_OF_RUN, {"r_dag_id": dag_id, "r_run_id": run_id}).all()
    return {task_id: stored_state(state) for task_id, _, state in rows}


def instance_states(session: Session, dag_id: str, run_id: str) -> dict[str, dict[int, TaskState]]:
    """The state of every task instance of a run: task_id -> map_index -> state."""
    rows = session.execute(_STATES_OF_RUN, {"r_dag_id": dag_id, "r_run_id": run_id}).all()
    found: dict[str, dict[int, TaskState]] = {}
    state_of = _STATE_OF
    for task_id, map_index, state in rows:
        instances = found.get(task_id)
        if instances is None:
            instances = found[task_id] = {}
        instances[map_index] = state_of[state]
    return found


_STATES_OF_RUNS = select(
    _TI.c.dag_id, _TI.c.run_id, _TI.c.task_id, _TI.c.map_index, _TI.c.state
).where(tuple_(_TI.c.dag_id, _TI.c.run_id).in_(bindparam("keys", expanding=True)))


def instance_states_of_runs(
    session: Session, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, dict[int, TaskState]]]:
    """:func:`instance_states` of many runs (dag_id, run_id) in one statement; a run without
    task instances is left out."""
    if not keys:
        return {}
    rows = session.execute(_STATES_OF_RUNS, {"keys": sorted(keys)}).all()
    found: dict[tuple[str, str], dict[str, dict[int, TaskState]]] = {}
    state_of = _STATE_OF
    for dag_id, run_id, task_id, map_index, state in rows:
        tasks = found.get((dag_id, run_id))
        if tasks is None:
            tasks = found[(dag_id, run_id)] = {}
        instances = tasks.get(task_id)
        if instances is None:
            instances = tasks[task_id] = {}
        instances[map_index] = state_of[state]
    return found


def instances_of_run(session: Session, dag_id: str, run_id: str) -> list[TaskInstance]:
    return list(
        session.scalars(
            select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
            .order_by(TaskInstance.task_id, TaskInstance.map_index)
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


_MAX_TRIES = select(_TI.c.max_tries).where(
    _RUN_KEY, _TI.c.task_id == bindparam("k_task_id"), _TI.c.map_index == bindparam("k_map_index")
)


def max_tries(session: Session, key: TaskKey) -> int | None:
    """The max_tries of the task instance of this try (whatever its current try); None when
    there is no such task instance."""
    params = {
        "r_dag_id": key.dag_id,
        "r_run_id": key.run_id,
        "k_task_id": key.task_id,
        "k_map_index": key.map_index,
    }
    return session.scalar(_MAX_TRIES, params)


# set_states' statements: the tasks of one run among ``task_ids`` still in an ``expected``
# state (NULL is spelled "none" there, so that one expanding list says it all), each in two
# forms: for every instance of those tasks, and for those among ``map_indexes`` only.
_UNDECIDED_WHERE = and_(
    _RUN_KEY,
    _TI.c.task_id.in_(bindparam("task_ids", expanding=True)),
    func.coalesce(_TI.c.state, TaskState.NONE.value).in_(bindparam("expected", expanding=True)),
)
_TO_SCHEDULED: dict[str, Any] = {
    "state": TaskState.SCHEDULED.value,
    "updated_at": bindparam("now", type_=UtcDateTime()),
    "scheduled_dttm": bindparam("now", type_=UtcDateTime()),
    "next_try_at": None,
}
# Where UPDATE ... RETURNING exists and SET reads the row as it was (PostgreSQL, SQLite; not
# MySQL, whose SET sees the values assigned before it), each change is one statement.
_RESCHEDULED = _TI.c.state == TaskState.UP_FOR_RESCHEDULE.value
# A new try starts from execute, waiting on no trigger.
FRESH_START: dict[str, Any] = {
    "next_method": None,
    "next_kwargs": None,
    "trigger_id": None,
    "deferrals": 0,
}


@dataclass(frozen=True)
class _Changes:
    """The statements that apply decided states to the rows ``where`` selects."""

    select_changing: Any
    new_try: Any
    same_try: Any
    done_unrun: Any
    to_state: Any
    returning: Mapping[TaskState, Any]
    to_state_returning: Any

    @classmethod
    def where(cls, where: Any) -> _Changes:
        done_unrun = (
            update(_TI)
            .where(where)
            .values(
                state=bindparam("v_state"),
                updated_at=bindparam("now", type_=UtcDateTime()),
                end_date=bindparam("now", type_=UtcDateTime()),
                start_date=func.coalesce(_TI.c.start_date, bindparam("now", type_=UtcDateTime())),
                duration=0.0,
            )
        )
        to_state = (
            update(_TI)
            .where(where)
            .values(state=bindparam("v_state"), updated_at=bindparam("now", type_=UtcDateTime()))
        )
        schedule = (
            update(_TI)
            .where(where)
            .values(
                **_TO_SCHEDULED,
                try_number=case((_RESCHEDULED, _TI.c.try_number), else_=_TI.c.try_number + 1),
                start_date=case((_RESCHEDULED, _TI.c.start_date), else_=None),
                end_date=case((_RESCHEDULED, _TI.c.end_date), else_=None),
                duration=case((_RESCHEDULED, _TI.c.duration), else_=None),
                next_method=case((_RESCHEDULED, _TI.c.next_method), else_=None),
                next_kwargs=case((_RESCHEDULED, _TI.c.next_kwargs), else_=None),
                deferrals=case((_RESCHEDULED, _TI.c.deferrals), else_=0),
                trigger_id=None,
            )
        )
        key = (_TI.c.task_id, _TI.c.map_index)
        return cls(
            select_changing=select(*key).where(where),
            new_try=update(_TI)
            .where(where, _TI.c.state.is_distinct_from(TaskState.UP_FOR_RESCHEDULE.value))
            .values(
                **_TO_SCHEDULED,
                **FRESH_START,
                try_number=_TI.c.try_number + 1,
                start_date=None,
                end_date=None,
                duration=None,
            ),
            same_try=update(_TI).where(where).values(**_TO_SCHEDULED),
            done_unrun=done_unrun,
            to_state=to_state,
            returning={
                TaskState.SKIPPED: done_unrun.returning(*key),
                TaskState.UPSTREAM_FAILED: done_unrun.returning(*key),
                TaskState.SCHEDULED: schedule.returning(*key),
            },
            to_state_returning=to_state.returning(*key),
        )


_ALL_INSTANCES = _Changes.where(_UNDECIDED_WHERE)
_SOME_INSTANCES = _Changes.where(
    and_(_UNDECIDED_WHERE, _TI.c.map_index.in_(bindparam("map_indexes", expanding=True)))
)


def set_states(
    session: Session,
    dag_id: str,
    run_id: str,
    changes: Mapping[str, TaskState],
    *,
    expected: Collection[TaskState],
    now: datetime,
    map_indexes: Collection[int] | None = None,
) -> list[tuple[str, int]]:
    """Apply decided states to the instances of tasks still in an ``expected`` state (those
    among ``map_indexes`` only, when given); returns the ``(task_id, map_index)`` changed.

    Moving to scheduled starts a new try (try_number + 1), except after a reschedule, which
    continues the same try.
    """
    changed: list[tuple[str, int]] = []
    returning = session.get_bind().dialect.name in ("postgresql", "sqlite")
    statements = _ALL_INSTANCES if map_indexes is None else _SOME_INSTANCES
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
            "v_state": state_value(state),
        }
        if map_indexes is not None:
            params["map_indexes"] = list(map_indexes)
        if returning:
            statement = statements.returning.get(state, statements.to_state_returning)
            changed.extend(tuple(row) for row in session.execute(statement, params))
            continue
        rows = [tuple(row) for row in session.execute(statements.select_changing, params)]
        if not rows:
            continue
        if state is TaskState.SCHEDULED:
            session.execute(statements.new_try, params)
            session.execute(statements.same_try, params)
        elif state in (TaskState.SKIPPED, TaskState.UPSTREAM_FAILED):
            session.execute(statements.done_unrun, params)
        else:
            session.execute(statements.to_state, params)
        changed.extend(rows)
    return changed


_WAITING = TaskInstance.state.in_([TaskState.UP_FOR_RETRY.value, TaskState.UP_FOR_RESCHEDULE.value])
_DUE_WAITING = (
    select(
        TaskInstance.dag_id,
        TaskInstance.run_id,
        TaskInstance.task_id,
        TaskInstance.map_index,
        TaskInstance.state,
    )
    .where(_WAITING, TaskInstance.next_try_at <= bindparam("now"))
    .limit(bindparam("limit"))
)
_NEXT_WAITING = select(func.min(TaskInstance.next_try_at)).where(_WAITING)


@dataclass(frozen=True)
class WaitingTry:
    """A task instance waiting in up_for_retry or up_for_reschedule."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: TaskState


def due_waiting(session: Session, now: datetime, limit: int) -> list[WaitingTry]:
    """up_for_retry / up_for_reschedule tries whose wait is over."""
    rows = session.execute(_DUE_WAITING, {"now": now, "limit": limit}).all()
    return [
        WaitingTry(dag_id, run_id, task_id, map_index, stored_state(state))
        for dag_id, run_id, task_id, map_index, state in rows
    ]


def next_waiting_time(session: Session) -> datetime | None:
    return session.scalar(_NEXT_WAITING)


def past_states(
    session: Session, dag_id: str, run_id: str, task_ids: Collection[str]
) -> dict[str, TaskState]:
    """The state of each of ``task_ids`` in a run (for depends_on_past)."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id.in_(list(task_ids)),
        )
    ).all()
    # A mapped task's instances: the state of one that did not succeed, if one did not.
    found: dict[str, TaskState] = {}
    for task_id, state in rows:
        if found.get(task_id) not in (None, TaskState.SUCCESS, TaskState.SKIPPED):
            continue
        found[task_id] = stored_state(state)
    return found
