"""Deadline alerts: ``/dags/{dag_id}/dagRuns/{run_id}/deadlines`` (every deadline alert of a
run, with where the run stands against it) and ``/deadlines`` (the deadlines runs missed,
newest first)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession, Paged
from tradewind.api.errors import not_found
from tradewind.api.routes.fields import PATH_TEXT, IdPath
from tradewind.metastore.models import Deadline
from tradewind.metastore.store import deadlines as deadline_store
from tradewind.metastore.store import runs as run_store

router = APIRouter(tags=["deadlines"])

DagFilter = Annotated[str | None, Query(pattern=PATH_TEXT, max_length=500)]


class RunDeadline(BaseModel):
    alert_index: int
    # dagrun_queued_at, dagrun_logical_date or fixed_datetime.
    reference: str
    interval_seconds: float
    # The dotted path of the callback.
    callback: str
    # When the run must be finished by (null: not known yet, e.g. a run not queued).
    deadline_time: datetime | None
    # missed, pending, met, late (ended after the time, before a check saw it) or unknown.
    state: str
    missed_at: datetime | None
    # For a missed deadline: "started" (its callback process started) or "not started".
    callback_state: str | None


class RunDeadlineList(BaseModel):
    dag_id: str
    dag_run_id: str
    deadlines: list[RunDeadline]


class MissedDeadline(BaseModel):
    dag_id: str
    dag_run_id: str
    alert_index: int
    reference: str
    interval_seconds: float
    callback: str
    deadline_time: datetime
    missed_at: datetime
    callback_state: str


class MissedDeadlineList(BaseModel):
    deadlines: list[MissedDeadline]
    total_entries: int


@router.get("/dags/{dag_id}/dagRuns/{run_id}/deadlines", response_model=RunDeadlineList)
def get_run_deadlines(
    dag_id: IdPath, run_id: IdPath, *, session: DbSession, who: AsViewer
) -> RunDeadlineList:
    """The deadline alerts of a run's DAG version, each with its time and state."""
    run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise not_found(f"DAG {dag_id!r} has no run {run_id!r}")
    return RunDeadlineList(
        dag_id=dag_id,
        dag_run_id=run_id,
        deadlines=[
            RunDeadline.model_validate(found, from_attributes=True)
            for found in deadline_store.of_run(session, run)
        ],
    )


def _missed(row: Deadline) -> MissedDeadline:
    return MissedDeadline(
        dag_id=row.dag_id,
        dag_run_id=row.run_id,
        alert_index=row.alert_index,
        reference=row.reference,
        interval_seconds=row.interval_seconds,
        callback=row.callback,
        deadline_time=row.deadline_time,
        missed_at=row.missed_at,
        callback_state=row.callback_state,
    )


@router.get("/deadlines", response_model=MissedDeadlineList)
def list_missed_deadlines(
    *, session: DbSession, who: AsViewer, page: Paged, dag_id: DagFilter = None
) -> MissedDeadlineList:
    """The deadlines runs missed, newest first (of one DAG with ``dag_id``)."""
    rows, total = deadline_store.missed_list(session, dag_id, limit=page.limit, offset=page.offset)
    return MissedDeadlineList(deadlines=[_missed(row) for row in rows], total_entries=total)
