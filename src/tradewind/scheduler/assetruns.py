"""Asset-triggered runs: a consumer DAG runs once the events queued for it meet its asset
condition. The runs are created in the transaction that takes the events off the queue, with
the DAGs' rows locked, so that under several schedulers each satisfied condition makes one run.
Every step is one statement for all the DAGs of the pass, so that an asset with hundreds of
consumers starts them all in one pass.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.metastore.store import assetqueue
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.parsing import assetcond
from tradewind.scheduler.dagruns import DagCache
from tradewind.states import DagRunType

log = logging.getLogger(__name__)


def create_asset_triggered_runs(
    session: Session, cache: DagCache, now: datetime, limit: int
) -> int:
    """A queued run for each consumer DAG whose queued events meet its condition."""
    if not assetqueue.has_waiting(session):
        return 0
    waiting = assetqueue.waiting_dags(session, limit)
    versions = dag_store.latest_versions(session, waiting)
    conditions: dict[str, Mapping[str, Any]] = {}
    for dag_id, version in versions.items():
        dag = cache.get(session, version)
        if dag is None:
            continue
        if dag.asset_condition is None:  # no longer scheduled on assets
            assetqueue.drop_dag(session, dag_id)
        else:
            conditions[dag_id] = dag.asset_condition
    queued = assetqueue.queued(session, list(conditions))
    names = {name for c in conditions.values() for name in assetcond.alias_names(c)}
    aliases = assetqueue.alias_assets(session, sorted(names))
    due = {
        dag_id: events
        for dag_id, events in queued.items()
        if assetcond.is_met(conditions[dag_id], {q.uri for q in events}, aliases)
    }
    new = [
        run_store.NewRun(
            dag_id,
            versions[dag_id],
            (min(q.timestamp for q in events), max(q.timestamp for q in events)),
        )
        for dag_id, events in sorted(due.items())
    ]
    return _create(session, new, due, now)


def _create(
    session: Session,
    new: list[run_store.NewRun],
    due: dict[str, list[assetqueue.Queued]],
    now: datetime,
) -> int:
    """The runs, with their events taken off the queue, in a savepoint: undone if another
    scheduler took some of these events meanwhile (the DAG row locks keep that from
    happening; this is the guard should they not hold) or a run_id is taken."""
    if not new:
        return 0
    try:
        with session.begin_nested() as savepoint:
            runs = run_store.create_runs(session, new, run_type=DagRunType.ASSET_TRIGGERED, now=now)
            if not assetqueue.consume(session, {runs[d]: events for d, events in due.items()}):
                log.warning("queued asset events were taken by another scheduler; retrying")
                savepoint.rollback()
                return 0
    except IntegrityError:
        log.info("an asset-triggered run at %s exists already; retrying", now.isoformat())
        return 0
    for dag_id, events in sorted(due.items()):
        log.info("%s: asset-triggered run (%d events)", dag_id, len(events))
    return len(new)
