"""Deadline alerts: the unfinished runs to watch, and the deadlines runs missed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.authoring.deadline import deadline_of
from tradewind.metastore.models import DagRun, Deadline
from tradewind.metastore.store import runs as run_store
from tradewind.states import DagRunState

_UNFINISHED = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)


@dataclass(frozen=True)
class WatchedRun:
    """An unfinished run, as the deadline check reads it."""

    id: int
    dag_id: str
    run_id: str
    serialized_dag_id: int | None
    queued_at: datetime | None
    logical_date: datetime


def unfinished_runs(session: Session) -> list[WatchedRun]:
    """Queued and running runs, what deadlines need of them (the index on state answers)."""
    rows = session.execute(
        select(
            DagRun.id,
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.serialized_dag_id,
            DagRun.queued_at,
            DagRun.logical_date,
        ).where(DagRun.state.in_(_UNFINISHED))
    )
    return [WatchedRun(*row) for row in rows]


def missed_of(session: Session, dag_run_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(dag_run_id, alert_index) of the deadlines these runs missed already."""
    if not dag_run_ids:
        return set()
    rows = session.execute(
        select(Deadline.dag_run_id, Deadline.alert_index).where(
            Deadline.dag_run_id.in_(list(dag_run_ids))
        )
    )
    return {(row.dag_run_id, row.alert_index) for row in rows}


def record_miss(
    session: Session,
    run: WatchedRun,
    alert_index: int,
    *,
    reference: str,
    interval_seconds: float,
    deadline_time: datetime,
    callback: str,
    now: datetime,
) -> Deadline | None:
    """Record that ``run`` missed its alert ``alert_index``; None when it was recorded already
    (by another scheduler), so that one callback fires."""
    row = Deadline(
        dag_run_id=run.id,
        dag_id=run.dag_id,
        run_id=run.run_id,
        alert_index=alert_index,
        reference=reference,
        interval_seconds=interval_seconds,
        deadline_time=deadline_time,
        missed_at=now,
        callback=callback[:1000],
        callback_state="started",
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def set_callback_state(session: Session, deadline_id: int, state: str) -> None:
    row = session.get(Deadline, deadline_id)
    if row is not None:
        row.callback_state = state


def missed_by_run(session: Session, dag_id: str, run_id: str) -> list[Deadline]:
    """The deadlines one run missed, in the DAG's order."""
    return list(
        session.scalars(
            select(Deadline)
            .join(DagRun, DagRun.id == Deadline.dag_run_id)
            .where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
            .order_by(Deadline.alert_index)
        ).all()
    )


def missed_list(
    session: Session, dag_id: str | None, *, limit: int, offset: int = 0
) -> tuple[list[Deadline], int]:
    """Missed deadlines, newest first (of one DAG, or of all), and how many there are."""
    query = select(Deadline)
    counted = select(func.count(Deadline.id))
    if dag_id is not None:
        query = query.where(Deadline.dag_id == dag_id)
        counted = counted.where(Deadline.dag_id == dag_id)
    total = session.scalar(counted) or 0
    rows = session.scalars(
        query.order_by(Deadline.missed_at.desc(), Deadline.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


@dataclass(frozen=True)
class RunDeadline:
    """One deadline alert of a run, as the API and the UI show it: ``state`` is "missed" (a
    row says so), "pending" (the run goes on, the time is not reached), "met" (the run ended
    in time), "late" (it ended after the time, before a check saw it) or "unknown" (no
    reference time, e.g. a run not queued yet)."""

    alert_index: int
    reference: str
    interval_seconds: float
    callback: str
    deadline_time: datetime | None
    state: str
    missed_at: datetime | None = None
    callback_state: str | None = None


def of_run(session: Session, run: DagRun) -> list[RunDeadline]:
    """Every deadline alert of the run's DAG version, with where the run stands."""
    data = None
    if run.serialized_dag_id is not None:
        data = run_store.serialized_data(session, run.serialized_dag_id)
    specs = list((data or {}).get("deadlines") or [])
    missed = {row.alert_index: row for row in missed_by_run(session, run.dag_id, run.run_id)}
    out = []
    for index, spec in enumerate(specs):
        row = missed.get(index)
        due = row.deadline_time if row else deadline_of(spec, run.queued_at, run.logical_date)
        if row is not None:
            state = "missed"
        elif due is None:
            state = "unknown"
        elif run.state in _UNFINISHED:
            state = "pending"
        else:
            state = "met" if run.end_date is None or run.end_date <= due else "late"
        out.append(
            RunDeadline(
                alert_index=index,
                reference=str(spec.get("reference")),
                interval_seconds=float(spec.get("interval") or 0),
                callback=str(spec.get("callback") or ""),
                deadline_time=due,
                state=state,
                missed_at=row.missed_at if row else None,
                callback_state=row.callback_state if row else None,
            )
        )
    return out
