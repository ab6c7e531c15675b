"""Queries that expand mapped tasks: what their upstream tasks pushed, and the task instances
of an expansion, written in one statement each (how many instances of a mapped task pushed a
value: :func:`tradewind.metastore.store.xcom.count_mapped_xcoms`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import TaskInstance, XCom
from tradewind.metastore.store.tasks import NewTask, stored_state
from tradewind.metastore.types import UtcDateTime
from tradewind.states import TaskState

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_XCOM: Table = XCom.__table__  # type: ignore[assignment]
_PUSHED = and_(
    _XCOM.c.dag_id == bindparam("b_dag_id"),
    _XCOM.c.run_id == bindparam("b_run_id"),
    _XCOM.c.task_id == bindparam("b_task_id"),
    _XCOM.c.key == bindparam("b_key"),
)
_VALUE = select(_XCOM.c.value).where(_PUSHED, _XCOM.c.map_index == -1).limit(1)
_UNEXPANDED = and_(
    _TI.c.dag_id == bindparam("b_dag_id"),
    _TI.c.run_id == bindparam("b_run_id"),
    _TI.c.task_id == bindparam("b_task_id"),
    _TI.c.map_index == -1,
    _TI.c.state.is_(None),
)
_FIRST = update(_TI).where(_UNEXPANDED).values(map_index=0)
_END_UNEXPANDED = (
    update(_TI)
    .where(_UNEXPANDED)
    .values(
        state=bindparam("b_state"),
        failure_reason=bindparam("b_reason"),
        start_date=bindparam("now", type_=UtcDateTime()),
        end_date=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
        duration=0.0,
    )
)

NOT_PUSHED = object()
"""What :func:`pushed_value` gives when the task pushed nothing under the key."""


def pushed_value(session: Session, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
    """What a plain task pushed under ``key`` in a run (:data:`NOT_PUSHED`: nothing)."""
    params = {"b_dag_id": dag_id, "b_run_id": run_id, "b_task_id": task_id, "b_key": key}
    row = session.execute(_VALUE, params).first()
    return NOT_PUSHED if row is None else row[0]


def expand(session: Session, dag_id: str, run_id: str, task: NewTask, count: int) -> bool:
    """The task's unexpanded instance becomes instance 0 and instances 1..count-1 are added,
    all in state none. False (nothing done) when it was expanded or decided already."""
    params = {"b_dag_id": dag_id, "b_run_id": run_id, "b_task_id": task.task_id}
    if session.execute(_FIRST, params).rowcount != 1:  # type: ignore[attr-defined]
        return False
    _add(session, dag_id, run_id, task, range(1, count))
    return True


_INSTANCES = select(_TI.c.map_index, _TI.c.state).where(
    _TI.c.dag_id == bindparam("b_dag_id"),
    _TI.c.run_id == bindparam("b_run_id"),
    _TI.c.task_id == bindparam("b_task_id"),
)
_REMOVE = (
    update(_TI)
    .where(
        _TI.c.dag_id == bindparam("b_dag_id"),
        _TI.c.run_id == bindparam("b_run_id"),
        _TI.c.task_id == bindparam("b_task_id"),
        _TI.c.map_index.in_(bindparam("indexes", expanding=True)),
        _TI.c.state.is_(None),
    )
    .values(state=TaskState.REMOVED.value, updated_at=bindparam("now", type_=UtcDateTime()))
)


def instances(session: Session, dag_id: str, run_id: str, task_id: str) -> dict[int, TaskState]:
    """The states of a task's instances in a run, by map_index."""
    params = {"b_dag_id": dag_id, "b_run_id": run_id, "b_task_id": task_id}
    return {index: stored_state(state) for index, state in session.execute(_INSTANCES, params)}


def revise(
    session: Session, dag_id: str, run_id: str, task: NewTask, count: int, *, now: datetime
) -> dict[int, TaskState]:
    """An expanded task to run again over ``count`` items: its instances in state none beyond
    them are removed and the missing ones added. Returns the states of its instances."""
    params = {"b_dag_id": dag_id, "b_run_id": run_id, "b_task_id": task.task_id}
    found = instances(session, dag_id, run_id, task.task_id)
    beyond = [i for i, state in found.items() if i >= count and state is TaskState.NONE]
    if beyond:
        session.execute(_REMOVE, {**params, "indexes": beyond, "now": now})
        found.update(dict.fromkeys(beyond, TaskState.REMOVED))
    missing = [i for i in range(count) if i not in found]
    _add(session, dag_id, run_id, task, missing)
    found.update(dict.fromkeys(missing, TaskState.NONE))
    return found


def _add(session: Session, dag_id: str, run_id: str, task: NewTask, indexes: Sequence[int]) -> None:
    """New instances of the task, in state none, at ``indexes``."""
    if not indexes:
        return
    values = task.row(dag_id, run_id)
    contiguous = list(indexes) == list(range(indexes[0], indexes[0] + len(indexes)))
    if contiguous and session.get_bind().dialect.name == "postgresql":
        # One statement the server fills from a series, where executemany would send each row.
        series = func.generate_series(indexes[0], indexes[-1]).table_valued("i").render_derived()
        columns = [literal(value, type_=_TI.c[name].type) for name, value in values.items()]
        rows = select(*columns, series.c.i)
        session.execute(insert(_TI).from_select([*values, "map_index"], rows))
        return
    session.execute(insert(_TI), [{**values, "map_index": index} for index in indexes])


def end_unexpanded(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    state: TaskState,
    *,
    reason: str | None,
    now: datetime,
) -> bool:
    """A mapped task that cannot expand ends in ``state`` as its one unexpanded instance."""
    params = {
        "b_dag_id": dag_id,
        "b_run_id": run_id,
        "b_task_id": task_id,
        "b_state": state.value,
        "b_reason": reason,
        "now": now,
    }
    return bool(session.execute(_END_UNEXPANDED, params).rowcount == 1)  # type: ignore[attr-defined]
