"""Reads for the UI's asset pages: a page of assets with their event counts, who produces and
who is scheduled on each asset, the consumers an asset's queued events wait in, the DAG-to-DAG
dependencies through assets, and what a consumer DAG has queued of the assets it waits for.

Producers and consumers are DAGs the DAG processor still sees (active); an asset stays listed
once a DAG or an event named it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    DagModel,
    DagRun,
    DagRunAssetEvent,
    DagScheduleAssetAliasReference,
    DagScheduleAssetReference,
    TaskOutletAssetReference,
)
from tradewind.metastore.store.assets import uri_hash

ACTIVE = DagModel.is_active.is_(True)


@dataclass(frozen=True)
class AssetRow:
    """An asset with how many events it has and when the latest was."""

    id: int
    uri: str
    name: str
    group: str
    extra: dict[str, Any]
    events: int
    last_event: datetime | None


@dataclass(frozen=True)
class AssetPage:
    assets: list[AssetRow]
    total: int


@dataclass(frozen=True)
class Producer:
    """A task with the asset among its outlets."""

    dag_id: str
    task_id: str


@dataclass(frozen=True)
class Consumer:
    """A DAG scheduled on the asset: directly, or through an alias that resolved to it."""

    dag_id: str
    alias: str | None = None


@dataclass(frozen=True)
class Waiting:
    """A consumer DAG with events of the asset queued, not yet run for."""

    dag_id: str
    events: int
    since: datetime


@dataclass(frozen=True)
class Queued:
    """An asset a consumer DAG is scheduled on, and what it has queued of it."""

    id: int
    uri: str
    name: str
    events: int
    latest: datetime | None


@dataclass(frozen=True)
class Dependencies:
    """Who feeds whom through assets: producer DAG -> asset, asset -> consumer DAG, and for
    DAGs scheduled on an alias, asset -> alias (as resolved so far) and alias -> DAG."""

    assets: dict[int, tuple[str, str]]  # id -> (uri, name)
    produces: set[tuple[str, int]]  # (dag_id, asset_id)
    feeds: set[tuple[int, str]]  # (asset_id, dag_id)
    resolves: set[tuple[int, str]]  # (asset_id, alias name)
    alias_feeds: set[tuple[str, str]]  # (alias name, dag_id)


_ASSET = select(AssetModel.id, AssetModel.uri, AssetModel.name, AssetModel.group, AssetModel.extra)


def page_assets(session: Session, contains: str | None, *, limit: int, offset: int) -> AssetPage:
    """Assets whose URI or name holds ``contains`` (any case), by name and URI."""
    query = _ASSET
    if contains:
        query = query.where(
            or_(
                AssetModel.uri.icontains(contains, autoescape=True),
                AssetModel.name.icontains(contains, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(AssetModel.name, AssetModel.uri).limit(limit).offset(offset)
    ids = [row[0] for row in session.execute(page).all()]
    return AssetPage(_rows(session, ids), total)


def _rows(session: Session, ids: Sequence[int]) -> list[AssetRow]:
    """These assets (in this order) with their event counts, in one query."""
    if not ids:
        return []
    wanted = list(ids)
    stats = (
        select(
            AssetEvent.asset_id,
            func.count(AssetEvent.id).label("events"),
            func.max(AssetEvent.timestamp).label("last"),
        )
        .where(AssetEvent.asset_id.in_(wanted))
        .group_by(AssetEvent.asset_id)
        .subquery()
    )
    query = (
        _ASSET.add_columns(func.coalesce(stats.c.events, 0), stats.c.last)
        .outerjoin(stats, stats.c.asset_id == AssetModel.id)
        .where(AssetModel.id.in_(wanted))
    )
    rows = {row[0]: AssetRow(*row) for row in session.execute(query).all()}
    return [rows[i] for i in wanted if i in rows]


def get_asset(session: Session, asset_id: int) -> AssetRow | None:
    found = _rows(session, [asset_id])
    return found[0] if found else None


def ids_by_uri(session: Session, uris: Collection[str]) -> dict[str, int]:
    """The id of each of these assets there is."""
    if not uris:
        return {}
    rows = session.execute(
        select(AssetModel.uri, AssetModel.id).where(
            AssetModel.uri_hash.in_([uri_hash(uri) for uri in uris])
        )
    ).all()
    return {str(uri): int(asset_id) for uri, asset_id in rows}


def producers(session: Session, asset_ids: Sequence[int]) -> dict[int, list[Producer]]:
    """The tasks of active DAGs that produce each asset, by DAG and task id."""
    found: dict[int, list[Producer]] = defaultdict(list)
    if asset_ids:
        ref = TaskOutletAssetReference
        rows = session.execute(
            select(ref.asset_id, ref.dag_id, ref.task_id)
            .join(DagModel, DagModel.dag_id == ref.dag_id)
            .where(ref.asset_id.in_(list(asset_ids)), ACTIVE)
            .order_by(ref.dag_id, ref.task_id)
        ).all()
        for asset_id, dag_id, task_id in rows:
            found[asset_id].append(Producer(dag_id, task_id))
    return dict(found)


def consumers(session: Session, asset_ids: Sequence[int]) -> dict[int, list[Consumer]]:
    """The active DAGs scheduled on each asset, directly or through an alias, by DAG id."""
    if not asset_ids:
        return {}
    wanted = list(asset_ids)
    direct = (
        select(DagScheduleAssetReference.asset_id, DagScheduleAssetReference.dag_id)
        .join(DagModel, DagModel.dag_id == DagScheduleAssetReference.dag_id)
        .where(DagScheduleAssetReference.asset_id.in_(wanted), ACTIVE)
    )
    through = (
        select(
            AssetAliasAsset.asset_id, DagScheduleAssetAliasReference.dag_id, AssetAliasModel.name
        )
        .join(AssetAliasModel, AssetAliasModel.id == AssetAliasAsset.alias_id)
        .join(
            DagScheduleAssetAliasReference,
            DagScheduleAssetAliasReference.alias_id == AssetAliasAsset.alias_id,
        )
        .join(DagModel, DagModel.dag_id == DagScheduleAssetAliasReference.dag_id)
        .where(AssetAliasAsset.asset_id.in_(wanted), ACTIVE)
    )
    found: dict[int, set[Consumer]] = defaultdict(set)
    for asset_id, dag_id in session.execute(direct).all():
        found[asset_id].add(Consumer(dag_id))
    for asset_id, dag_id, alias in session.execute(through).all():
        found[asset_id].add(Consumer(dag_id, alias))
    return {
        asset_id: sorted(items, key=lambda c: (c.dag_id, c.alias or ""))
        for asset_id, items in found.items()
    }


def waiting(session: Session, asset_id: int) -> list[Waiting]:
    """The consumer DAGs with events of this asset queued, by DAG id."""
    queue = AssetDagRunQueue
    rows = session.execute(
        select(queue.target_dag_id, func.count(queue.id), func.min(queue.created_at))
        .where(queue.asset_id == asset_id)
        .group_by(queue.target_dag_id)
        .order_by(queue.target_dag_id)
    ).all()
    return [Waiting(*row) for row in rows]


def queued_of(session: Session, dag_id: str, uris: Collection[str]) -> dict[str, Queued]:
    """Of the assets with these URIs, by URI: what the DAG has queued of each (in one query)."""
    if not uris:
        return {}
    queue = AssetDagRunQueue
    rows = session.execute(
        select(
            AssetModel.id,
            AssetModel.uri,
            AssetModel.name,
            func.count(queue.id),
            func.max(queue.created_at),
        )
        .outerjoin(queue, (queue.asset_id == AssetModel.id) & (queue.target_dag_id == dag_id))
        .where(AssetModel.uri_hash.in_([uri_hash(uri) for uri in uris]))
        .group_by(AssetModel.id, AssetModel.uri, AssetModel.name)
    ).all()
    return {row[1]: Queued(*row) for row in rows}


def run_triggers(session: Session, event_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """The runs (dag_id, run_id) each of these events triggered."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if event_ids:
        rows = session.execute(
            select(DagRunAssetEvent.event_id, DagRun.dag_id, DagRun.run_id)
            .join(DagRun, DagRun.id == DagRunAssetEvent.dag_run_id)
            .where(DagRunAssetEvent.event_id.in_(list(event_ids)))
            .order_by(DagRun.dag_id, DagRun.run_id)
        ).all()
        for event_id, dag_id, run_id in rows:
            found[event_id].append((dag_id, run_id))
    return dict(found)


def outlets_of(session: Session, dag_id: str) -> list[tuple[str, int, str]]:
    """The assets the DAG's tasks produce: (task_id, asset id, URI)."""
    ref = TaskOutletAssetReference
    rows = session.execute(
        select(ref.task_id, AssetModel.id, AssetModel.uri)
        .join(AssetModel, AssetModel.id == ref.asset_id)
        .where(ref.dag_id == dag_id)
        .order_by(ref.task_id, AssetModel.uri)
    ).all()
    return [(task_id, asset_id, uri) for task_id, asset_id, uri in rows]


def dependencies(session: Session) -> Dependencies:
    """Every edge between active DAGs and assets (and aliases DAGs are scheduled on)."""
    produces = {
        (dag_id, asset_id)
        for dag_id, asset_id in session.execute(
            select(TaskOutletAssetReference.dag_id, TaskOutletAssetReference.asset_id)
            .distinct()
            .join(DagModel, DagModel.dag_id == TaskOutletAssetReference.dag_id)
            .where(ACTIVE)
        ).all()
    }
    feeds = {
        (asset_id, dag_id)
        for asset_id, dag_id in session.execute(
            select(DagScheduleAssetReference.asset_id, DagScheduleAssetReference.dag_id)
            .join(DagModel, DagModel.dag_id == DagScheduleAssetReference.dag_id)
            .where(ACTIVE)
        ).all()
    }
    alias_feeds = {
        (name, dag_id)
        for name, dag_id in session.execute(
            select(AssetAliasModel.name, DagScheduleAssetAliasReference.dag_id)
            .join(AssetAliasModel, AssetAliasModel.id == DagScheduleAssetAliasReference.alias_id)
            .join(DagModel, DagModel.dag_id == DagScheduleAssetAliasReference.dag_id)
            .where(ACTIVE)
        ).all()
    }
    resolves: set[tuple[int, str]] = set()
    if alias_feeds:
        resolves = {
            (asset_id, name)
            for asset_id, name in session.execute(
                select(AssetAliasAsset.asset_id, AssetAliasModel.name)
                .join(AssetAliasModel, AssetAliasModel.id == AssetAliasAsset.alias_id)
                .where(AssetAliasModel.name.in_({name for name, _ in alias_feeds}))
            ).all()
        }
    ids = {a for _, a in produces} | {a for a, _ in feeds} | {a for a, _ in resolves}
    assets: dict[int, tuple[str, str]] = {}
    if ids:
        rows = session.execute(
            select(AssetModel.id, AssetModel.uri, AssetModel.name).where(
                AssetModel.id.in_(sorted(ids))
            )
        ).all()
        assets = {asset_id: (uri, name) for asset_id, uri, name in rows}
    return Dependencies(assets, produces, feeds, resolves, alias_feeds)
