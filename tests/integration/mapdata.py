"""Mapped task instances as rows, for tests of what people see and do with them.

:func:`mapped_run` stores a DAG ``start >> work >> end`` whose ``work`` is mapped (and, with
``group=True``, a mapped task group ``grp`` holding ``grp.one >> grp.two``), triggers a run of
it with the DAG paused (so the scheduler leaves it alone) and writes the instances of the mapped
tasks as the scheduler would once it expanded them: map indexes 0..n-1, each in its state.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from scheduling import System
from sqlalchemy import delete, select

from tradewind.metastore.models import SerializedDagModel, TaskInstance
from tradewind.states import TaskState

MAPPED_DAG = """
with DAG("{dag_id}", schedule=None):
    start = EmptyOperator(task_id="start")
    work = EmptyOperator(task_id="work")
    end = EmptyOperator(task_id="end")
    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="one") >> EmptyOperator(task_id="two")
    start >> work >> end
    start >> grp
"""
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def store_mapped_dag(system: System, dag_id: str = "mapped", length: int = 3) -> None:
    """Write and parse the DAG, then make ``work`` and the group ``grp`` mapped in its stored
    serialized version (as the parser will once mapping is authored)."""
    system.add_dag(dag_id, MAPPED_DAG.format(dag_id=dag_id))
    with system.sessions.begin() as session:
        row = session.scalars(
            select(SerializedDagModel)
            .where(SerializedDagModel.dag_id == dag_id)
            .order_by(SerializedDagModel.version.desc())
        ).first()
        assert row is not None
        data = copy.deepcopy(row.data)
        for task in data["tasks"]:
            if task["task_id"] == "work":
                task["mapping"] = {"length": {"literal": length}, "group_id": None}
                task["map_index_template"] = "item {{ params.x }}"
            elif task["task_id"].startswith("grp."):
                task["mapping"] = {"length": {"literal": length}, "group_id": "grp"}
        data["task_groups"]["grp"]["is_mapped"] = True
        row.data = data


def expand(
    system: System,
    dag_id: str,
    run_id: str,
    task_id: str,
    states: Sequence[TaskState | None],
    *,
    names: Sequence[str] | None = None,
) -> None:
    """Replace the task's unexpanded row by one instance per state given (map index order);
    finished ones have had one try; ``names`` are their rendered_map_index."""
    with system.sessions.begin() as session:
        session.execute(
            delete(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        )
        for index, state in enumerate(states):
            tried = state not in (None, TaskState.SCHEDULED, TaskState.QUEUED)
            start = T0 + timedelta(minutes=index)
            session.add(
                TaskInstance(
                    dag_id=dag_id,
                    run_id=run_id,
                    task_id=task_id,
                    map_index=index,
                    state=None if state is None else state.value,
                    try_number=1 if tried else 0,
                    max_tries=0,
                    start_date=start if tried else None,
                    end_date=start + timedelta(seconds=30) if tried else None,
                    duration=30.0 if tried else None,
                    operator="EmptyOperator",
                    rendered_map_index=names[index] if names else None,
                )
            )


def set_state(system: System, dag_id: str, run_id: str, task_id: str, state: TaskState) -> None:
    """Give the task one instance (map index -1) in ``state``, as if it had run."""
    expand(system, dag_id, run_id, task_id, [state])
    with system.sessions.begin() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        ).one()
        ti.map_index = -1


SUCCESS, FAILED, RUNNING = TaskState.SUCCESS, TaskState.FAILED, TaskState.RUNNING


def mapped_run(
    system: System, dag_id: str = "mapped", *, logical_day: int = 1, group: bool = True
) -> str:
    """A run of the mapped DAG: start succeeded, work's 4 instances (0, 2 succeeded, 1 failed, 3
    running), end upstream_failed, the group's 3 instances of one and two; the run's id."""
    with system.sessions() as session:
        stored = session.scalar(
            select(SerializedDagModel.id).where(SerializedDagModel.dag_id == dag_id)
        )
    if stored is None:
        store_mapped_dag(system, dag_id)
    run_id = system.trigger(
        dag_id, logical_date=datetime(2024, 5, logical_day, tzinfo=UTC), unpause=False
    )
    set_state(system, dag_id, run_id, "start", SUCCESS)
    names = ["alpha", "beta", "gamma", "delta"]
    expand(system, dag_id, run_id, "work", [SUCCESS, FAILED, SUCCESS, RUNNING], names=names)
    set_state(system, dag_id, run_id, "end", TaskState.UPSTREAM_FAILED)
    if group:
        expand(system, dag_id, run_id, "grp.one", [SUCCESS, SUCCESS, FAILED])
        expand(system, dag_id, run_id, "grp.two", [SUCCESS, SUCCESS, TaskState.UPSTREAM_FAILED])
    return run_id
