"""Queries that look across DAGs: runs and task states of another DAG at given logical dates
(ExternalTaskSensor, ExternalTaskMarker) and the state of a run by id (TriggerDagRunOperator)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, TaskInstance


def run_states_at(session: Session, dag_id: str, logical_dates: Collection[datetime]) -> list[str]:
    """The states of the DAG's runs at these logical dates (one per run that exists)."""
    if not logical_dates:
        return []
    rows = session.scalars(
        select(DagRun.state).where(
            DagRun.dag_id == dag_id, DagRun.logical_date.in_(list(logical_dates))
        )
    )
    return [str(state) for state in rows]


def task_states_at(
    session: Session,
    dag_id: str,
    logical_dates: Collection[datetime],
    task_ids: Collection[str],
) -> list[str | None]:
    """The states of these tasks' instances in the DAG's runs at these logical dates (one per
    instance that exists; None for an instance not yet decided)."""
    if not logical_dates or not task_ids:
        return []
    rows = session.scalars(
        select(TaskInstance.state)
        .join(
            DagRun,
            (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id),
        )
        .where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.task_id.in_(list(task_ids)),
            DagRun.logical_date.in_(list(logical_dates)),
        )
    )
    return [None if state is None else str(state) for state in rows]


def run_at(session: Session, dag_id: str, logical_date: datetime) -> DagRun | None:
    """The DAG's run at this logical date (the first made, if there are several)."""
    return session.scalars(
        select(DagRun)
        .where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date)
        .order_by(DagRun.id)
        .limit(1)
    ).first()
