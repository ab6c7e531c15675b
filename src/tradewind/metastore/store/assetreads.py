"""Queries that read asset events: those that triggered a run, and those of one asset (what a
try sees as ``triggering_asset_events`` and ``inlet_events``, and the API and UI list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import AssetEvent, AssetModel, DagRun, DagRunAssetEvent
from tradewind.metastore.store.assets import uri_hash


@dataclass(frozen=True)
class EventEntry:
    """One asset event with its asset."""

    id: int
    uri: str
    name: str
    group: str
    extra: dict[str, Any]
    timestamp: datetime
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_map_index: int | None
    source_alias_name: str | None

    def to_json(self) -> dict[str, Any]:
        """As a try receives it (timestamps as ISO text)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["timestamp"] = self.timestamp.isoformat()
        return data


# The columns of an EventEntry, in its fields' order (others may follow them in a select).
EVENT_COLUMNS = (
    AssetEvent.id,
    AssetModel.uri,
    AssetModel.name,
    AssetModel.group,
    AssetEvent.extra,
    AssetEvent.timestamp,
    AssetEvent.source_dag_id,
    AssetEvent.source_task_id,
    AssetEvent.source_run_id,
    AssetEvent.source_map_index,
    AssetEvent.source_alias_name,
)
_EVENTS: Select[Any] = select(*EVENT_COLUMNS).join(AssetModel, AssetModel.id == AssetEvent.asset_id)


def _entries(session: Session, query: Select[Any]) -> list[EventEntry]:
    return [EventEntry(*row) for row in session.execute(query).all()]


def run_events(session: Session, dag_id: str, run_id: str) -> list[EventEntry]:
    """The events that triggered a run, oldest first (none for a run not asset-triggered)."""
    query = (
        _EVENTS.join(DagRunAssetEvent, DagRunAssetEvent.event_id == AssetEvent.id)
        .join(DagRun, DagRun.id == DagRunAssetEvent.dag_run_id)
        .where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        .order_by(AssetEvent.timestamp, AssetEvent.id)
    )
    return _entries(session, query)


def asset_events(
    session: Session, uris: Sequence[str], *, limit: int, newest_first: bool = False
) -> list[EventEntry]:
    """Events of the assets with these URIs: the oldest ``limit`` (or the newest)."""
    order = (
        (AssetEvent.timestamp.desc(), AssetEvent.id.desc())
        if newest_first
        else (AssetEvent.timestamp, AssetEvent.id)
    )
    query = (
        _EVENTS.where(AssetModel.uri_hash.in_([uri_hash(uri) for uri in uris]))
        .order_by(*order)
        .limit(limit)
    )
    return _entries(session, query)
