"""Asset-triggered runs: a consumer DAG runs once the events queued for it meet its asset
condition. The run is created in the transaction that takes the events off the queue, with the
DAG's row locked, so that under several schedulers each satisfied condition makes one run.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.metastore.store import assetqueue
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
    created = 0
    for dag_id in assetqueue.waiting_dags(session, limit):
        latest = cache.latest(session, dag_id)
        if latest is None:
            continue
        condition = latest[1].asset_condition
        if condition is None:  # no longer scheduled on assets
            assetqueue.drop_dag(session, dag_id)
            continue
        queued = assetqueue.queued(session, dag_id)
        aliases = assetqueue.alias_assets(session, assetcond.alias_names(condition))
        if not queued or not assetcond.is_met(condition, {q.uri for q in queued}, aliases):
            continue
        if _create_run(session, dag_id, queued, now):
            created += 1
    return created


def _create_run(
    session: Session, dag_id: str, queued: list[assetqueue.Queued], now: datetime
) -> bool:
    """The run that ``queued`` triggered, in a savepoint: undone if another scheduler took
    some of these events meanwhile (the DAG's row lock keeps that from happening; this is the
    guard should it not hold)."""
    times = [q.timestamp for q in queued]
    try:
        with session.begin_nested() as savepoint:
            run = run_store.create_dag_run(
                session,
                dag_id=dag_id,
                run_id=run_store.run_id_for(DagRunType.ASSET_TRIGGERED, now),
                logical_date=now,
                data_interval=(min(times), max(times)),
                run_type=DagRunType.ASSET_TRIGGERED,
                conf=None,
                now=now,
            )
            session.flush()
            if not assetqueue.consume(session, run.id, queued):
                log.warning("%s: its queued asset events were taken by another scheduler", dag_id)
                savepoint.rollback()
                return False
    except run_store.RunExists:
        log.info("asset-triggered run of %s at %s exists already", dag_id, now)
        return False
    log.info("%s: asset-triggered run %s (%d events)", dag_id, run.run_id, len(queued))
    return True
