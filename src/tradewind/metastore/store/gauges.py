"""Counts for the metrics endpoint: a few grouped queries on indexed columns, whatever the size
of the metastore (finished task instances are not counted: that would scan the table)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagModel, DagRun, ParseImportError, TaskInstance
from tradewind.states import TaskState

# The task states worth watching: work waiting or under way.
UNFINISHED = (
    TaskState.SCHEDULED,
    TaskState.QUEUED,
    TaskState.RUNNING,
    TaskState.UP_FOR_RETRY,
    TaskState.UP_FOR_RESCHEDULE,
    TaskState.RESTARTING,
)


def dag_runs_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(DagRun.state, func.count()).group_by(DagRun.state))
    return {str(state): int(count) for state, count in rows}


def unfinished_task_instances(session: Session) -> dict[str, int]:
    states = [state.value for state in UNFINISHED]
    rows = session.execute(
        select(TaskInstance.state, func.count())
        .where(TaskInstance.state.in_(states))
        .group_by(TaskInstance.state)
    )
    found = {str(state): int(count) for state, count in rows}
    return {state: found.get(state, 0) for state in states}


def dags_by_paused(session: Session) -> dict[bool, int]:
    rows = session.execute(
        select(DagModel.is_paused, func.count())
        .where(DagModel.is_active.is_(True))
        .group_by(DagModel.is_paused)
    )
    found = {bool(paused): int(count) for paused, count in rows}
    return {True: found.get(True, 0), False: found.get(False, 0)}


def import_errors(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ParseImportError)) or 0
