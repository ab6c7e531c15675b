"""Queries on the queue of asset events that consumer DAGs have not run for yet: which DAGs
have some (locked, so that one scheduler alone creates a DAG's asset-triggered run), what each
has, and taking them into the run that they triggered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    DagModel,
    DagRunAssetEvent,
)
from tradewind.metastore.store.runs import lock_skip


@dataclass(frozen=True)
class Queued:
    """One queued event of a consumer DAG."""

    id: int
    event_id: int
    uri: str
    timestamp: datetime


def waiting_dags(session: Session, limit: int) -> list[str]:
    """Active, unpaused DAGs with queued events, their rows locked (skip-locked: another
    scheduler is deciding the rest)."""
    queued = select(AssetDagRunQueue.target_dag_id).distinct()
    query = (
        select(DagModel.dag_id)
        .where(
            DagModel.dag_id.in_(queued),
            DagModel.is_active.is_(True),
            DagModel.is_paused.is_(False),
        )
        .order_by(DagModel.dag_id)
        .limit(limit)
    )
    return list(session.scalars(lock_skip(session, query)).all())


def has_waiting(session: Session) -> bool:
    """Whether any event is queued at all (a cheap look before :func:`waiting_dags`)."""
    return session.scalar(select(AssetDagRunQueue.id).limit(1)) is not None


def queued(session: Session, dag_ids: Sequence[str]) -> dict[str, list[Queued]]:
    """The queued events of each of these DAGs, oldest first."""
    rows = session.execute(
        select(
            AssetDagRunQueue.target_dag_id,
            AssetDagRunQueue.id,
            AssetDagRunQueue.event_id,
            AssetModel.uri,
            AssetEvent.timestamp,
        )
        .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
        .join(AssetEvent, AssetEvent.id == AssetDagRunQueue.event_id)
        .where(AssetDagRunQueue.target_dag_id.in_(list(dag_ids)))
        .order_by(AssetDagRunQueue.id)
    ).all()
    found: dict[str, list[Queued]] = {}
    for dag_id, pk, event_id, uri, timestamp in rows:
        found.setdefault(dag_id, []).append(Queued(pk, event_id, uri, timestamp))
    return found


def alias_assets(session: Session, names: Sequence[str]) -> dict[str, set[str]]:
    """The URIs each alias has resolved to."""
    if not names:
        return {}
    rows = session.execute(
        select(AssetAliasModel.name, AssetModel.uri)
        .join(AssetAliasAsset, AssetAliasAsset.alias_id == AssetAliasModel.id)
        .join(AssetModel, AssetModel.id == AssetAliasAsset.asset_id)
        .where(AssetAliasModel.name.in_(list(names)))
    ).all()
    found: dict[str, set[str]] = {}
    for name, uri in rows:
        found.setdefault(name, set()).add(uri)
    return found


def consume(session: Session, taken: Mapping[int, Sequence[Queued]]) -> bool:
    """The queued events ``taken[run]`` triggered each run (by its primary key): take them
    off the queue and record them as the runs' triggering events. False (and nothing
    recorded) when some of them were taken already: another scheduler created runs for them
    (the caller undoes its runs)."""
    ids = [q.id for queued in taken.values() for q in queued]
    if drop(session, ids) < len(ids):
        return False
    rows = [
        {"dag_run_id": run, "event_id": event}
        for run, queued in taken.items()
        for event in sorted({q.event_id for q in queued})
    ]
    if rows:
        session.execute(insert(DagRunAssetEvent), rows)
    return True


def drop(session: Session, ids: Iterable[int]) -> int:
    """Take queued events off the queue; how many were still there."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.id.in_(wanted)))
    return int(getattr(result, "rowcount", 0) or 0)


def drop_dag(session: Session, dag_id: str) -> None:
    """Empty a DAG's queue (it is no longer scheduled on assets)."""
    session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
