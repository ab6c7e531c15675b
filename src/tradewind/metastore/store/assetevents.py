"""Asset events as the API and the CLI list them (with the runs each one triggered); an event
recorded from outside (another system says that an asset was updated); and the queue of events
that consumer DAGs have not run for yet, one entry per (DAG, asset) with the newest event's
time, as Airflow lists queued events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    DagRun,
    DagRunAssetEvent,
)
from tradewind.metastore.notify import notify
from tradewind.metastore.store import assetlists
from tradewind.metastore.store import assets as asset_store
from tradewind.metastore.store.assetreads import EVENT_COLUMNS, EventEntry
from tradewind.reports import AssetUpdate


@dataclass(frozen=True)
class RunRef:
    """A run an event triggered (one of its triggering events)."""

    dag_id: str
    run_id: str
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None
    state: str
    data_interval_start: datetime | None
    data_interval_end: datetime | None


@dataclass(frozen=True)
class ListedEvent:
    entry: EventEntry
    asset_id: int
    created_dagruns: list[RunRef] = field(default_factory=list)


@dataclass(frozen=True)
class EventFilter:
    """Each field given narrows the events (timestamps inclusive)."""

    event_id: int | None = None
    asset_id: int | None = None
    uri: str | None = None
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = None
    timestamp_gte: datetime | None = None
    timestamp_lte: datetime | None = None
    triggered_run: int | None = None  # the id of a run (dag_run.id) these events triggered


EVENT_ORDER: dict[str, Any] = {
    "id": AssetEvent.id,
    "asset_id": AssetEvent.asset_id,
    "timestamp": AssetEvent.timestamp,
    "source_dag_id": AssetEvent.source_dag_id,
    "source_task_id": AssetEvent.source_task_id,
    "source_run_id": AssetEvent.source_run_id,
    "source_map_index": AssetEvent.source_map_index,
}

_EVENTS: Select[Any] = select(*EVENT_COLUMNS, AssetEvent.asset_id).join(
    AssetModel, AssetModel.id == AssetEvent.asset_id
)


def _filtered(where: EventFilter) -> Select[Any]:
    query = _EVENTS
    equal = {
        AssetEvent.id: where.event_id,
        AssetEvent.asset_id: where.asset_id,
        AssetModel.uri_hash: asset_store.uri_hash(where.uri) if where.uri is not None else None,
        AssetEvent.source_dag_id: where.source_dag_id,
        AssetEvent.source_task_id: where.source_task_id,
        AssetEvent.source_run_id: where.source_run_id,
        AssetEvent.source_map_index: where.source_map_index,
    }
    query = query.where(*(column == value for column, value in equal.items() if value is not None))
    if where.timestamp_gte is not None:
        query = query.where(AssetEvent.timestamp >= where.timestamp_gte)
    if where.timestamp_lte is not None:
        query = query.where(AssetEvent.timestamp <= where.timestamp_lte)
    if where.triggered_run is not None:
        query = query.join(DagRunAssetEvent, DagRunAssetEvent.event_id == AssetEvent.id).where(
            DagRunAssetEvent.dag_run_id == where.triggered_run
        )
    return query


def page_events(
    session: Session,
    where: EventFilter,
    *,
    order_by: str = "timestamp",
    limit: int,
    offset: int,
) -> tuple[list[ListedEvent], int]:
    """Events matching ``where`` ordered by ``order_by`` (of :data:`EVENT_ORDER`), a page with
    the runs each triggered; and how many match."""
    query = _filtered(where).order_by(*assetlists.ordered(EVENT_ORDER, order_by, AssetEvent.id))
    rows, total = assetlists.page(session, query, limit, offset)
    runs = _created_runs(session, [row[0] for row in rows])
    listed = [ListedEvent(EventEntry(*row[:-1]), row[-1], runs.get(row[0], [])) for row in rows]
    return listed, total


def _created_runs(session: Session, event_ids: Sequence[int]) -> dict[int, list[RunRef]]:
    if not event_ids:
        return {}
    rows = session.execute(
        select(
            DagRunAssetEvent.event_id,
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.logical_date,
            DagRun.start_date,
            DagRun.end_date,
            DagRun.state,
            DagRun.data_interval_start,
            DagRun.data_interval_end,
        )
        .join(DagRun, DagRun.id == DagRunAssetEvent.dag_run_id)
        .where(DagRunAssetEvent.event_id.in_(list(event_ids)))
        .order_by(DagRun.id)
    )
    found: dict[int, list[RunRef]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(RunRef(*row[1:]))
    return found


@dataclass(frozen=True)
class Recorded:
    """An event recorded from outside, and the DAGs it was queued for."""

    event: ListedEvent
    queued_for: list[str]


def record_outside(
    session: Session,
    *,
    asset_id: int | None = None,
    uri: str | None = None,
    extra: Mapping[str, Any],
    now: datetime,
) -> Recorded | None:
    """Record that an asset (by id or URI; None when there is no such asset) was updated
    outside tradewind: an event with no source, queued for every DAG scheduled on the asset.
    Running schedulers hear of it when the transaction commits."""
    found = assetlists.get_asset(session, asset_id=asset_id, uri=uri)
    if found is None:
        return None
    update = AssetUpdate(found.uri, found.name, found.group, dict(extra))
    event = asset_store.record(session, [update], source=None, now=now)[0]
    queued_for = session.scalars(
        select(AssetDagRunQueue.target_dag_id)
        .where(AssetDagRunQueue.event_id == event.id)
        .order_by(AssetDagRunQueue.target_dag_id)
    ).all()
    notify(session)
    listed, _ = page_events(session, EventFilter(event_id=event.id), limit=1, offset=0)
    return Recorded(listed[0], list(queued_for))


@dataclass(frozen=True)
class QueuedEntry:
    """Events of an asset queued for a consumer DAG: ``created_at`` is the newest one's."""

    dag_id: str
    asset_id: int
    uri: str
    created_at: datetime


def _queue_where(dag_id: str | None, asset_id: int | None, before: datetime | None) -> list[Any]:
    conditions: list[Any] = []
    if dag_id is not None:
        conditions.append(AssetDagRunQueue.target_dag_id == dag_id)
    if asset_id is not None:
        conditions.append(AssetDagRunQueue.asset_id == asset_id)
    if before is not None:
        conditions.append(AssetDagRunQueue.created_at < before)
    return conditions


def queued_events(
    session: Session,
    *,
    dag_id: str | None = None,
    asset_id: int | None = None,
    before: datetime | None = None,
) -> list[QueuedEntry]:
    """The queue per (DAG, asset), of one DAG and/or one asset, only events queued before
    ``before`` if given; by DAG, then asset id."""
    grouped = (
        select(
            AssetDagRunQueue.target_dag_id.label("dag_id"),
            AssetDagRunQueue.asset_id.label("asset_id"),
            func.max(AssetDagRunQueue.created_at).label("created_at"),
        )
        .where(*_queue_where(dag_id, asset_id, before))
        .group_by(AssetDagRunQueue.target_dag_id, AssetDagRunQueue.asset_id)
        .subquery()
    )
    rows = session.execute(
        select(grouped.c.dag_id, grouped.c.asset_id, AssetModel.uri, grouped.c.created_at)
        .join(AssetModel, AssetModel.id == grouped.c.asset_id)
        .order_by(grouped.c.dag_id, grouped.c.asset_id)
    )
    return [QueuedEntry(*row) for row in rows]


def delete_queued(
    session: Session,
    *,
    dag_id: str | None = None,
    asset_id: int | None = None,
    before: datetime | None = None,
) -> int:
    """Take the matching events off the queue (the DAGs will not run for them); how many."""
    result = session.execute(
        delete(AssetDagRunQueue).where(*_queue_where(dag_id, asset_id, before))
    )
    return int(getattr(result, "rowcount", 0) or 0)
