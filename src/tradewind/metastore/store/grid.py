"""Reads for the UI's DAG pages: the runs and task states of the grid, a run's timings for the
Gantt chart, a task instance's tries. Each reads only the columns it shows, in one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    DagRun,
    SerializedDagModel,
    TaskInstance,
    TaskInstanceHistory,
)


@dataclass(frozen=True)
class GridRun:
    run_id: str
    state: str
    run_type: str
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None

    @property
    def duration(self) -> float | None:
        """How long the run took, or has been running so far; None before it started."""
        if self.start_date is None:
            return None
        end = self.end_date
        if end is None:
            if self.state in ("success", "failed"):
                return None
            end = datetime.now(UTC)
        return max((end - self.start_date).total_seconds(), 0.0)


_RUN_COLUMNS = (
    DagRun.run_id,
    DagRun.state,
    DagRun.run_type,
    DagRun.logical_date,
    DagRun.start_date,
    DagRun.end_date,
)


def latest_serialized(session: Session, dag_id: str) -> tuple[int, str] | None:
    """The id and content hash of the DAG's current serialized version."""
    row = session.execute(
        select(SerializedDagModel.id, SerializedDagModel.dag_hash)
        .where(SerializedDagModel.dag_id == dag_id)
        .order_by(SerializedDagModel.version.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def latest_serialized_many(session: Session, dag_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """:func:`latest_serialized` of each of these DAGs, in one query."""
    if not dag_ids:
        return {}
    model = SerializedDagModel
    newest = (
        select(model.dag_id, func.max(model.version).label("version"))
        .where(model.dag_id.in_(list(dag_ids)))
        .group_by(model.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(model.dag_id, model.id, model.dag_hash).join(
            newest, and_(model.dag_id == newest.c.dag_id, model.version == newest.c.version)
        )
    ).all()
    return {dag_id: (serialized_id, dag_hash) for dag_id, serialized_id, dag_hash in rows}


def serialized_data(session: Session, serialized_id: int) -> dict[str, Any] | None:
    return session.scalar(
        select(SerializedDagModel.data).where(SerializedDagModel.id == serialized_id)
    )


def latest_runs(session: Session, dag_id: str, limit: int) -> list[GridRun]:
    """The DAG's latest ``limit`` runs, oldest first (the grid shows the newest on the right)."""
    rows = session.execute(
        select(*_RUN_COLUMNS)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.logical_date.desc(), DagRun.id.desc())
        .limit(limit)
    ).all()
    return [GridRun(*row) for row in reversed(rows)]


def get_run(session: Session, dag_id: str, run_id: str) -> GridRun | None:
    row = session.execute(
        select(*_RUN_COLUMNS).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    ).first()
    return GridRun(*row) if row is not None else None


def task_states(
    session: Session, dag_id: str, run_ids: Sequence[str]
) -> dict[str, dict[str, str | None]]:
    """run_id -> task_id -> state of the task instances of these runs (one query)."""
    found: dict[str, dict[str, str | None]] = defaultdict(dict)
    if not run_ids:
        return {}
    for run_id, task_id, state in session.execute(
        select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(list(run_ids))
        )
    ):
        found[run_id][task_id] = state
    return dict(found)


def mapped_state_counts(
    session: Session, dag_id: str, run_ids: Sequence[str]
) -> dict[str, dict[str, dict[str | None, int]]]:
    """run_id -> task_id -> state -> how many instances, for the expanded mapped tasks of
    these runs (those with instances of map index 0 and up), in one query."""
    found: dict[str, dict[str, dict[str | None, int]]] = defaultdict(dict)
    if not run_ids:
        return {}
    for run_id, task_id, state, count in session.execute(
        select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, func.count())
        .where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id.in_(list(run_ids)),
            TaskInstance.map_index >= 0,
        )
        .group_by(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state)
    ):
        found[run_id].setdefault(task_id, {})[state] = int(count)
    return dict(found)


def mapped_instances(
    session: Session, dag_id: str, run_id: str, task_id: str
) -> list[TaskInstance]:
    """The instances of a mapped task in a run (map index 0 and up), in map index order."""
    return list(
        session.scalars(
            select(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
                TaskInstance.map_index >= 0,
            )
            .order_by(TaskInstance.map_index)
        ).all()
    )


@dataclass(frozen=True)
class Timing:
    task_id: str
    state: str | None
    try_number: int
    start_date: datetime | None
    end_date: datetime | None
    queued_dttm: datetime | None
    map_index: int = -1


def run_timings(session: Session, dag_id: str, run_id: str) -> list[Timing]:
    """What the Gantt chart of a run draws: every try of each task instance (the finished ones
    kept in history, then the current one) with its state and times, in two queries."""
    found: dict[tuple[str, int, int], Timing] = {}
    for table in (TaskInstanceHistory, TaskInstance):
        rows = session.execute(
            select(
                table.task_id,
                table.state,
                table.try_number,
                table.start_date,
                table.end_date,
                table.queued_dttm,
                table.map_index,
            ).where(table.dag_id == dag_id, table.run_id == run_id)
        )
        for row in rows:
            found[(row.task_id, row.map_index, row.try_number)] = Timing(*row)
    return list(found.values())


@dataclass(frozen=True)
class Try:
    try_number: int
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    hostname: str | None
    pid: int | None
    failure_reason: str | None


def tries(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> list[Try]:
    """Every try of a task instance: the finished ones kept in history, then the current one."""
    columns = (
        "try_number",
        "state",
        "start_date",
        "end_date",
        "duration",
        "hostname",
        "pid",
        "failure_reason",
    )
    found: dict[int, Try] = {}
    for table in (TaskInstanceHistory, TaskInstance):
        query = select(*(getattr(table, name) for name in columns)).where(
            table.dag_id == dag_id,
            table.run_id == run_id,
            table.task_id == task_id,
            table.map_index == map_index,
        )
        for row in session.execute(query):
            if row.try_number > 0:
                found[row.try_number] = Try(*row)
    return [found[number] for number in sorted(found)]


# Task states after which a task instance does nothing more in its run.
DONE_TASK_STATES = ("success", "failed", "skipped", "upstream_failed", "removed")


def task_progress(session: Session, dag_id: str, run_ids: Sequence[str]) -> tuple[int, int]:
    """(finished, all) task instances of these runs, in one query."""
    if not run_ids:
        return 0, 0
    done = func.sum(case((TaskInstance.state.in_(DONE_TASK_STATES), 1), else_=0))
    row = session.execute(
        select(done, func.count()).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(list(run_ids))
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)
