"""Runs read many at once, by a pass of the scheduler: the runs of the tries that ended,
locked (see :func:`tradewind.scheduler.events.apply`), and what a pass's workloads carry of
their runs (see :func:`tradewind.scheduler.queueing.queue_ready`): the runs with one query,
their DAGs' previous successful runs with two, instead of one or two queries per run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun
from tradewind.metastore.store.runs import previous_success
from tradewind.states import DagRunState

RunKey = tuple[str, str]  # dag_id, run_id


_RUNS = select(DagRun).where(
    tuple_(DagRun.dag_id, DagRun.run_id).in_(bindparam("keys", expanding=True))
)
_LOCK_RUNS = (
    _RUNS.order_by(DagRun.dag_id, DagRun.run_id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_RELOAD_RUNS = _RUNS.execution_options(populate_existing=True)


def runs_by_key(session: Session, keys: Collection[RunKey]) -> dict[RunKey, DagRun]:
    """These runs (those that exist), by (dag_id, run_id)."""
    if not keys:
        return {}
    found = session.scalars(_RUNS, {"keys": sorted(keys)})
    return {(run.dag_id, run.run_id): run for run in found}


def lock_runs(session: Session, keys: Collection[RunKey]) -> dict[RunKey, DagRun]:
    """:func:`tradewind.metastore.store.runs.lock_run` for many runs at once: those that
    exist, read afresh, their rows locked until commit (not on SQLite, where the writer holds
    the whole database). They are locked in (dag_id, run_id) order, the order every scheduler
    takes them in, so that two schedulers never wait on each other's locks."""
    if not keys:
        return {}
    query = _RELOAD_RUNS if session.get_bind().dialect.name == "sqlite" else _LOCK_RUNS
    found = session.scalars(query, {"keys": sorted(keys)})
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
    latest = _latest_success_dates(session, {run.dag_id for run in single})
    # A DAG whose latest success is not before the run (a rerun of an older run): alone.
    for run in single:
        moment = latest.get(run.dag_id)
        if moment is not None and moment >= run.logical_date:
            found[(run.dag_id, run.run_id)] = previous_success(
                session, run.dag_id, run.logical_date
            )
            del latest[run.dag_id]
    previous = _successes_at(session, latest)
    for run in single:
        if (run.dag_id, run.run_id) not in found:
            moment = latest.get(run.dag_id)
            found[(run.dag_id, run.run_id)] = previous.get((run.dag_id, moment)) if moment else None
    return found


# Statements of a fixed shape (their lists are expanded when they run): compiled once.
_LATEST = (
    select(DagRun.dag_id, func.max(DagRun.logical_date))
    .where(
        DagRun.state == DagRunState.SUCCESS.value,
        DagRun.dag_id.in_(bindparam("dag_ids", expanding=True)),
    )
    .group_by(DagRun.dag_id)
)
_AT = select(DagRun).where(
    DagRun.state == DagRunState.SUCCESS.value,
    DagRun.dag_id.in_(bindparam("dag_ids", expanding=True)),
    DagRun.logical_date.in_(bindparam("moments", expanding=True)),
)


def _latest_success_dates(session: Session, dag_ids: Collection[str]) -> dict[str, datetime]:
    """Each DAG's latest successful run's logical date (DAGs without one left out)."""
    if not dag_ids:
        return {}
    rows = session.execute(_LATEST, {"dag_ids": sorted(dag_ids)}).all()
    return {dag_id: moment for dag_id, moment in rows if moment is not None}


def _successes_at(
    session: Session, moments: dict[str, datetime]
) -> dict[tuple[str, datetime], DagRun]:
    """The successful runs of these DAGs at these logical dates."""
    if not moments:
        return {}
    params = {"dag_ids": sorted(moments), "moments": sorted(set(moments.values()))}
    return {
        (run.dag_id, run.logical_date): run
        for run in session.scalars(_AT, params)
        if moments.get(run.dag_id) == run.logical_date
    }
