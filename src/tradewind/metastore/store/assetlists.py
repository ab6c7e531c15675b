"""Queries that list assets for the API and the CLI: assets with what produces, reads and is
scheduled on each, and aliases (events and the queue are in :mod:`.assetevents`).

Listings take Airflow's ``order_by`` names (``-name`` for descending); each is broken by id, so
that pages never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, union
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetEvent,
    AssetModel,
    DagScheduleAssetAliasReference,
    DagScheduleAssetReference,
    TaskInletAssetReference,
    TaskOutletAssetReference,
)
from tradewind.metastore.store.assets import uri_hash

# Far beyond any real listing, and within every database's integer range.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class DagRef:
    """A DAG scheduled on an asset (directly, or through ``alias``)."""

    dag_id: str
    created_at: datetime
    alias: str | None = None


@dataclass(frozen=True)
class TaskRef:
    """A task that names an asset among its outlets (or inlets)."""

    dag_id: str
    task_id: str
    created_at: datetime


@dataclass(frozen=True)
class AliasEntry:
    id: int
    name: str
    group: str


@dataclass(frozen=True)
class LastEvent:
    id: int
    timestamp: datetime


@dataclass
class AssetEntry:
    """An asset with its references: the DAGs scheduled on it, the tasks that produce it
    (outlets) and read it (inlets), the aliases that resolved to it, its newest event."""

    id: int
    uri: str
    name: str
    group: str
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    scheduled_dags: list[DagRef] = field(default_factory=list)
    producing_tasks: list[TaskRef] = field(default_factory=list)
    consuming_tasks: list[TaskRef] = field(default_factory=list)
    aliases: list[AliasEntry] = field(default_factory=list)
    last_event: LastEvent | None = None


@dataclass(frozen=True)
class AssetFilter:
    uri_pattern: str | None = None  # part of the URI
    name_pattern: str | None = None  # part of the name
    name: str | None = None  # the whole name
    dag_ids: Sequence[str] = ()  # used by one of these DAGs: scheduled on, produced or read


ASSET_ORDER: dict[str, Any] = {
    "id": AssetModel.id,
    "uri": AssetModel.uri,
    "name": AssetModel.name,
    "group": AssetModel.group,
    "created_at": AssetModel.created_at,
    "updated_at": AssetModel.updated_at,
}
ALIAS_ORDER: dict[str, Any] = {
    "id": AssetAliasModel.id,
    "name": AssetAliasModel.name,
    "group": AssetAliasModel.group,
}


def ordered(columns: dict[str, Any], order_by: str, tiebreak: Any) -> list[Any]:
    """ORDER BY terms of an order_by name of ``columns`` (``-name``: descending), ties broken
    by ``tiebreak`` in the same direction."""
    column = columns[order_by.removeprefix("-")]
    if order_by.startswith("-"):
        return [column.desc(), tiebreak.desc()]
    return [column.asc(), tiebreak.asc()]


def page(
    session: Session, query: Select[*tuple[Any, ...]], limit: int, offset: int
) -> tuple[list[Any], int]:
    """A page of ``query``'s rows (already ordered) and how many rows it has in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(limit).offset(min(offset, MAX_OFFSET))).all()
    return list(rows), int(total or 0)


def _used_by(dag_ids: Sequence[str]) -> Any:
    """The ids of the assets these DAGs are scheduled on (directly or through an alias),
    produce or read."""
    wanted = list(dag_ids)
    through = select(AssetAliasAsset.asset_id).join(
        DagScheduleAssetAliasReference,
        DagScheduleAssetAliasReference.alias_id == AssetAliasAsset.alias_id,
    )
    return union(
        select(DagScheduleAssetReference.asset_id).where(
            DagScheduleAssetReference.dag_id.in_(wanted)
        ),
        through.where(DagScheduleAssetAliasReference.dag_id.in_(wanted)),
        select(TaskOutletAssetReference.asset_id).where(
            TaskOutletAssetReference.dag_id.in_(wanted)
        ),
        select(TaskInletAssetReference.asset_id).where(TaskInletAssetReference.dag_id.in_(wanted)),
    )


def page_assets(
    session: Session, where: AssetFilter, *, order_by: str = "id", limit: int, offset: int
) -> tuple[list[AssetEntry], int]:
    """Assets matching ``where`` ordered by ``order_by`` (of :data:`ASSET_ORDER`), a page with
    their references; and how many match."""
    query = select(AssetModel)
    if where.uri_pattern:
        query = query.where(AssetModel.uri.contains(where.uri_pattern, autoescape=True))
    if where.name_pattern:
        query = query.where(AssetModel.name.contains(where.name_pattern, autoescape=True))
    if where.name is not None:
        query = query.where(AssetModel.name == where.name)
    if where.dag_ids:
        query = query.where(AssetModel.id.in_(_used_by(where.dag_ids)))
    query = query.order_by(*ordered(ASSET_ORDER, order_by, AssetModel.id))
    rows, total = page(session, query, limit, offset)
    return describe(session, [row[0] for row in rows]), total


def get_asset(
    session: Session, *, asset_id: int | None = None, uri: str | None = None
) -> AssetEntry | None:
    """One asset by id or by URI, with its references."""
    query = select(AssetModel)
    if asset_id is not None:
        query = query.where(AssetModel.id == asset_id)
    if uri is not None:
        query = query.where(AssetModel.uri_hash == uri_hash(uri))
    row = session.scalars(query.limit(1)).first()
    return describe(session, [row])[0] if row is not None else None


def asset_id_of(session: Session, uri: str) -> int | None:
    """The id of the asset with this URI, if there is one."""
    return session.scalar(select(AssetModel.id).where(AssetModel.uri_hash == uri_hash(uri)))


def has_asset(session: Session, asset_id: int) -> bool:
    return session.scalar(select(AssetModel.id).where(AssetModel.id == asset_id)) is not None


def describe(session: Session, rows: Sequence[AssetModel]) -> list[AssetEntry]:
    """Each asset with its references, in a handful of queries whatever their number."""
    found = {
        row.id: AssetEntry(
            row.id,
            row.uri,
            row.name,
            row.group,
            dict(row.extra or {}),
            row.created_at,
            row.updated_at,
        )
        for row in rows
    }
    if not found:
        return []
    ids = list(found)
    for asset_id, ref in _scheduled(session, ids):
        found[asset_id].scheduled_dags.append(ref)
    for table, attribute in (
        (TaskOutletAssetReference, "producing_tasks"),
        (TaskInletAssetReference, "consuming_tasks"),
    ):
        tasks = session.execute(
            select(table.asset_id, table.dag_id, table.task_id, table.created_at)
            .where(table.asset_id.in_(ids))
            .order_by(table.dag_id, table.task_id)
        )
        for asset_id, dag_id, task_id, created_at in tasks:
            getattr(found[asset_id], attribute).append(TaskRef(dag_id, task_id, created_at))
    aliases = session.execute(
        select(
            AssetAliasAsset.asset_id,
            AssetAliasModel.id,
            AssetAliasModel.name,
            AssetAliasModel.group,
        )
        .join(AssetAliasModel, AssetAliasModel.id == AssetAliasAsset.alias_id)
        .where(AssetAliasAsset.asset_id.in_(ids))
        .order_by(AssetAliasModel.name)
    )
    for asset_id, alias_id, name, group in aliases:
        found[asset_id].aliases.append(AliasEntry(alias_id, name, group))
    for asset_id, last in _last_events(session, ids).items():
        found[asset_id].last_event = last
    return [found[row.id] for row in rows]


def _scheduled(session: Session, ids: list[int]) -> list[tuple[int, DagRef]]:
    """(asset id, DAG) for each DAG scheduled on one of the assets: directly, then through an
    alias that resolved to it (a DAG scheduled both ways is named once)."""
    direct = session.execute(
        select(
            DagScheduleAssetReference.asset_id,
            DagScheduleAssetReference.dag_id,
            DagScheduleAssetReference.created_at,
        )
        .where(DagScheduleAssetReference.asset_id.in_(ids))
        .order_by(DagScheduleAssetReference.dag_id)
    ).all()
    through = session.execute(
        select(
            AssetAliasAsset.asset_id,
            DagScheduleAssetAliasReference.dag_id,
            DagScheduleAssetAliasReference.created_at,
            AssetAliasModel.name,
        )
        .join(
            DagScheduleAssetAliasReference,
            DagScheduleAssetAliasReference.alias_id == AssetAliasAsset.alias_id,
        )
        .join(AssetAliasModel, AssetAliasModel.id == AssetAliasAsset.alias_id)
        .where(AssetAliasAsset.asset_id.in_(ids))
        .order_by(DagScheduleAssetAliasReference.dag_id, AssetAliasModel.name)
    ).all()
    refs = [(asset_id, DagRef(dag_id, created_at)) for asset_id, dag_id, created_at in direct]
    named = {(asset_id, ref.dag_id) for asset_id, ref in refs}
    for asset_id, dag_id, created_at, alias in through:
        if (asset_id, dag_id) not in named:
            named.add((asset_id, dag_id))
            refs.append((asset_id, DagRef(dag_id, created_at, alias)))
    return refs


def _last_events(session: Session, ids: list[int]) -> dict[int, LastEvent]:
    newest = (
        select(AssetEvent.asset_id, func.max(AssetEvent.id).label("event_id"))
        .where(AssetEvent.asset_id.in_(ids))
        .group_by(AssetEvent.asset_id)
        .subquery()
    )
    rows = session.execute(
        select(AssetEvent.asset_id, AssetEvent.id, AssetEvent.timestamp).join(
            newest, newest.c.event_id == AssetEvent.id
        )
    )
    return {asset_id: LastEvent(event_id, when) for asset_id, event_id, when in rows}


def page_aliases(
    session: Session,
    *,
    name_pattern: str | None = None,
    order_by: str = "id",
    limit: int,
    offset: int,
) -> tuple[list[AliasEntry], int]:
    """Aliases (those whose name holds ``name_pattern``), a page; and how many match."""
    query = select(AssetAliasModel.id, AssetAliasModel.name, AssetAliasModel.group)
    if name_pattern:
        query = query.where(AssetAliasModel.name.contains(name_pattern, autoescape=True))
    query = query.order_by(*ordered(ALIAS_ORDER, order_by, AssetAliasModel.id))
    rows, total = page(session, query, limit, offset)
    return [AliasEntry(*row) for row in rows], total


def get_alias(session: Session, alias_id: int) -> AliasEntry | None:
    row = session.execute(
        select(AssetAliasModel.id, AssetAliasModel.name, AssetAliasModel.group).where(
            AssetAliasModel.id == alias_id
        )
    ).first()
    return AliasEntry(*row) if row is not None else None
