"""What a pass's workloads carry of their runs (see
:func:`tradewind.scheduler.queueing.queue_ready`), read for many runs at once: the runs with
one query, their DAGs' previous successful runs with two, instead of two queries per run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun
from tradewind.metastore.store.runs import previous_success
from tradewind.states import DagRunState

RunKey = tuple[str, str]  # dag_id, run_id


def runs_by_key(session: Session, keys: Collection[RunKey]) -> dict[RunKey, DagRun]:
    """These runs (those that exist), by (dag_id, run_id)."""
    if not keys:
        return {}
    found = session.scalars(
        select(DagRun).where(tuple_(DagRun.dag_id, DagRun.run_id).in_(sorted(keys)))
    )
    return {(run.dag_id, run.run_id): run for run in found}


def previous_successes(session: Session, runs: Collection[DagRun]) -> dict[RunKey, DagRun | None]:
    """For each run, its DAG's latest successful run before its logical date (what
    :func:`tradewind.metastore.store.runs.previous_success` gives one run at a time)."""
    per_dag = Counter(run.dag_id for run in runs)
    found: dict[RunKey, DagRun | None] = {
        (run.dag_id, run.run_id): previous_success(session, run.dag_id, run.logical_date)
        for run in runs
        if per_dag[run.dag_id] > 1
    }
    single = [run for run in runs if per_dag[run.dag_id] == 1]
    if not single:
        return found
    latest = _latest_success_dates(session, {run.dag_id: run.logical_date for run in single})
    previous: dict[tuple[str, datetime], DagRun] = {}
    if latest:
        rows = session.scalars(
            select(DagRun).where(
                DagRun.state == DagRunState.SUCCESS.value,
                or_(
                    *(
                        and_(DagRun.dag_id == dag_id, DagRun.logical_date == moment)
                        for dag_id, moment in latest.items()
                    )
                ),
            )
        )
        previous = {(run.dag_id, run.logical_date): run for run in rows}
    for run in single:
        moment = latest.get(run.dag_id)
        found[(run.dag_id, run.run_id)] = (
            previous.get((run.dag_id, moment)) if moment is not None else None
        )
    return found


def _latest_success_dates(session: Session, before: dict[str, datetime]) -> dict[str, datetime]:
    """For each DAG, the logical date of its latest successful run before the given date."""
    rows = session.execute(
        select(DagRun.dag_id, func.max(DagRun.logical_date))
        .where(
            DagRun.state == DagRunState.SUCCESS.value,
            or_(
                *(
                    and_(DagRun.dag_id == dag_id, DagRun.logical_date < moment)
                    for dag_id, moment in before.items()
                )
            ),
        )
        .group_by(DagRun.dag_id)
    ).all()
    return {dag_id: moment for dag_id, moment in rows if moment is not None}
