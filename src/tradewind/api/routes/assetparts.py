"""What the asset routes share: what they answer, with Airflow 3's field names (Airflow 2's
are in :mod:`.datasets`), and the steps both names take. Secret-looking fields of an ``extra``
read ``***``, at any depth, as they do in a connection's extra.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from tradewind import limits
from tradewind.api import audit
from tradewind.api.deps import DbSession, Web
from tradewind.api.errors import ErrorBody, not_found
from tradewind.api.routes.fields import NoNul
from tradewind.api.routes.tasks import existing_run
from tradewind.api.security import Principal
from tradewind.metastore.models.asset import URI_LENGTH
from tradewind.metastore.store import assetevents, assetlists
from tradewind.metastore.store.connections import mask_fields
from tradewind.metastore.types import utcnow

NO_MAP_INDEX = -1
Uri = Annotated[str, StringConstraints(min_length=1, max_length=URI_LENGTH), NoNul]
# Why posting an event may answer 404.
UNKNOWN_ASSET: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No asset has this id or URI"}
}


class DagScheduleAssetReference(BaseModel):
    dag_id: str
    created_at: datetime = Field(description="When the DAG's current version was registered.")
    updated_at: datetime = Field(description="The same as created_at.")


class TaskOutletAssetReference(BaseModel):
    dag_id: str
    task_id: str
    created_at: datetime = Field(description="When the DAG's current version was registered.")
    updated_at: datetime = Field(description="The same as created_at.")


class TaskInletAssetReference(TaskOutletAssetReference):
    pass


class AssetAlias(BaseModel):
    id: int
    name: str
    group: str


class AssetAliasList(BaseModel):
    asset_aliases: list[AssetAlias]
    total_entries: int


class LastAssetEvent(BaseModel):
    id: int
    timestamp: datetime


class Asset(BaseModel):
    id: int
    name: str
    uri: str
    group: str
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    scheduled_dags: list[DagScheduleAssetReference] = Field(
        description="The DAGs scheduled on the asset, directly or through an alias."
    )
    producing_tasks: list[TaskOutletAssetReference]
    consuming_tasks: list[TaskInletAssetReference] = Field(
        description="The tasks that name the asset among their inlets."
    )
    aliases: list[AssetAlias] = Field(description="The aliases that have resolved to the asset.")
    last_asset_event: LastAssetEvent | None


class AssetList(BaseModel):
    assets: list[Asset]
    total_entries: int


class DagRunReference(BaseModel):
    """A run that an event triggered."""

    run_id: str
    dag_id: str
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None
    state: str
    data_interval_start: datetime | None
    data_interval_end: datetime | None


class AssetEvent(BaseModel):
    id: int
    asset_id: int
    uri: str
    name: str
    group: str
    extra: dict[str, Any]
    source_task_id: str | None
    source_dag_id: str | None
    source_run_id: str | None
    source_map_index: int = Field(description="-1 for a task that is not mapped, or none.")
    created_dagruns: list[DagRunReference] = Field(description="The runs the event triggered.")
    timestamp: datetime


class AssetEventList(BaseModel):
    asset_events: list[AssetEvent]
    total_entries: int


class QueuedEvent(BaseModel):
    """Events of an asset queued for a DAG that has not run for them yet."""

    dag_id: str
    asset_id: int
    uri: str
    created_at: datetime = Field(description="When the newest of them was queued.")


class QueuedEventList(BaseModel):
    queued_events: list[QueuedEvent]
    total_entries: int


def masked(extra: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = mask_fields(extra)
    return shown


def _dag_ref(ref: assetlists.DagRef) -> DagScheduleAssetReference:
    return DagScheduleAssetReference(
        dag_id=ref.dag_id, created_at=ref.created_at, updated_at=ref.created_at
    )


def _task_ref(ref: assetlists.TaskRef) -> dict[str, Any]:
    return {
        "dag_id": ref.dag_id,
        "task_id": ref.task_id,
        "created_at": ref.created_at,
        "updated_at": ref.created_at,
    }


def alias_out(alias: assetlists.AliasEntry) -> AssetAlias:
    return AssetAlias(id=alias.id, name=alias.name, group=alias.group)


def asset_out(entry: assetlists.AssetEntry) -> Asset:
    last = entry.last_event
    return Asset(
        id=entry.id,
        name=entry.name,
        uri=entry.uri,
        group=entry.group,
        extra=masked(entry.extra),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        scheduled_dags=[_dag_ref(ref) for ref in entry.scheduled_dags],
        producing_tasks=[TaskOutletAssetReference(**_task_ref(r)) for r in entry.producing_tasks],
        consuming_tasks=[TaskInletAssetReference(**_task_ref(r)) for r in entry.consuming_tasks],
        aliases=[alias_out(alias) for alias in entry.aliases],
        last_asset_event=LastAssetEvent(id=last.id, timestamp=last.timestamp) if last else None,
    )


def run_ref(run: assetevents.RunRef) -> DagRunReference:
    return DagRunReference(
        run_id=run.run_id,
        dag_id=run.dag_id,
        logical_date=run.logical_date,
        start_date=run.start_date,
        end_date=run.end_date,
        state=run.state,
        data_interval_start=run.data_interval_start,
        data_interval_end=run.data_interval_end,
    )


def event_out(listed: assetevents.ListedEvent) -> AssetEvent:
    entry = listed.entry
    return AssetEvent(
        id=entry.id,
        asset_id=listed.asset_id,
        uri=entry.uri,
        name=entry.name,
        group=entry.group,
        extra=masked(entry.extra),
        source_task_id=entry.source_task_id,
        source_dag_id=entry.source_dag_id,
        source_run_id=entry.source_run_id,
        source_map_index=NO_MAP_INDEX if entry.source_map_index is None else entry.source_map_index,
        created_dagruns=[run_ref(run) for run in listed.created_dagruns],
        timestamp=entry.timestamp,
    )


def queued_out(entry: assetevents.QueuedEntry) -> QueuedEvent:
    return QueuedEvent(
        dag_id=entry.dag_id, asset_id=entry.asset_id, uri=entry.uri, created_at=entry.created_at
    )


def storable_extra(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """A validator's check of an event's extra: JSON that the metastore can store."""
    try:
        json.dumps(extra, allow_nan=False, ensure_ascii=False).encode()
    except (ValueError, UnicodeEncodeError):
        message = "extra must be valid JSON text (no NaN, infinity or lone surrogates)"
        raise ValueError(message) from None
    return extra


def dag_id_list(dag_ids: Sequence[str] | None) -> list[str]:
    """DAG ids given as a list, each item possibly several separated by commas (Airflow 2)."""
    return [part for item in dag_ids or () for part in item.split(",") if part]


def record_event(
    session: DbSession,
    who: Principal,
    web: Web,
    extra: dict[str, Any] | None,
    *,
    asset_id: int | None = None,
    uri: str | None = None,
) -> assetevents.Recorded:
    """Record an update of the asset from outside (404 for an unknown asset), queued for its
    consumers; ``extra`` is marked ``from_rest_api``, as Airflow marks it."""
    extra = {**(extra or {}), "from_rest_api": True}
    limits.check_json("extra", extra, web.settings.core.max_conf_mb, "core.max_conf_mb")
    recorded = assetevents.record_outside(
        session, asset_id=asset_id, uri=uri, extra=extra, now=utcnow()
    )
    if recorded is None:
        raise not_found(f"no asset {asset_id}" if uri is None else f"no asset with URI {uri!r}")
    event = recorded.event
    audit.record(
        session,
        who,
        "asset_event.create",
        extra={"asset_id": event.asset_id, "uri": event.entry.uri, "queued": recorded.queued_for},
    )
    session.commit()
    return recorded


def upstream_events(session: DbSession, dag_id: str, run_id: str) -> list[assetevents.ListedEvent]:
    """The events that triggered a run, oldest first (404 for an unknown run)."""
    run = existing_run(session, dag_id, run_id)
    where = assetevents.EventFilter(triggered_run=run.id)
    rows, _ = assetevents.page_events(session, where, limit=assetlists.MAX_OFFSET, offset=0)
    return rows
