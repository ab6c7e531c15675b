"""Queries that write assets: the DAG processor registers what a DAG produces, reads and is
scheduled on (:func:`register_dag`); a successful try's updates, or an update from outside,
become asset events, queued for every consumer DAG in the same transaction (:func:`record`).

The serialized JSON of an asset reference is ``{"asset": {"uri", "name", "group", "extra"}}``
or ``{"alias": {"name", "group"}}``; a schedule's condition nests them in ``{"all": [...]}`` and
``{"any": [...]}`` (see :mod:`tradewind.parsing.assetcond`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    DagModel,
    DagScheduleAssetAliasReference,
    DagScheduleAssetReference,
    TaskInletAssetReference,
    TaskOutletAssetReference,
)
from tradewind.metastore.store import watchers
from tradewind.reports import AssetUpdate


def uri_hash(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()


@dataclass(frozen=True)
class Spec:
    """An asset as a DAG declares it (or as an event names it)."""

    uri: str
    name: str
    group: str = "asset"
    extra: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class EventSource:
    """The try that updated an asset (None for an update from outside)."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1


def walk(node: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The ``("asset", spec)`` and ``("alias", spec)`` leaves of a serialized reference,
    list of references or condition."""
    if isinstance(node, list):
        for item in node:
            yield from walk(item)
    elif isinstance(node, Mapping):
        for kind in ("asset", "alias"):
            if isinstance(node.get(kind), Mapping):
                yield kind, node[kind]
        for kind in ("all", "any"):
            if isinstance(node.get(kind), list):
                yield from walk(node[kind])


def _spec(raw: Mapping[str, Any]) -> Spec:
    uri = str(raw["uri"])
    name = str(raw.get("name") or uri)
    return Spec(uri, name, str(raw.get("group") or "asset"), raw.get("extra"))


def register_dag(
    session: Session, dag_id: str, data: Mapping[str, Any], now: datetime, *, first: bool = False
) -> None:
    """Replace what the DAG's newest version says about assets: what it is scheduled on, and
    what each of its tasks produces and reads; then bring the watchers of the assets it is (or
    was) scheduled on in step (:func:`tradewind.metastore.store.watchers.sync`). ``first``: the
    DAG's first version (there is nothing to replace)."""
    before = set() if first else watchers.scheduled_on(session, dag_id)
    _register_references(session, dag_id, data, now, first=first)
    declares = bool(watchers.declared_in(data.get("asset_condition")))
    after = watchers.scheduled_on(session, dag_id) if declares or before else set()
    watchers.sync(session, before | after, declares=declares, now=now)


def _register_references(
    session: Session, dag_id: str, data: Mapping[str, Any], now: datetime, *, first: bool
) -> None:
    scheduled = list(walk(data.get("asset_condition")))
    per_task = [
        (task["task_id"], kind, list(walk(task.get(kind) or [])))
        for task in data.get("tasks", ())
        for kind in ("outlets", "inlets")
    ]
    for table in () if first else _REFERENCES:
        session.execute(delete(table).where(table.dag_id == dag_id))
    if not scheduled and not any(leaves for _, _, leaves in per_task):
        return
    session.flush()  # the DAG's row, which the references point to
    leaves = scheduled + [leaf for _, _, task_leaves in per_task for leaf in task_leaves]
    specs = [_spec(raw) for kind, raw in leaves if kind == "asset"]
    ids = asset_ids(session, specs, now, describe=True)
    aliases = alias_ids(session, [str(raw["name"]) for kind, raw in scheduled if kind == "alias"])
    rows: dict[type[Any], set[tuple[Any, ...]]] = {}
    for kind, raw in scheduled:
        if kind == "asset":
            rows.setdefault(DagScheduleAssetReference, set()).add((ids[str(raw["uri"])],))
        else:
            rows.setdefault(DagScheduleAssetAliasReference, set()).add((aliases[raw["name"]],))
    for task_id, which, leaves in per_task:
        table = TaskOutletAssetReference if which == "outlets" else TaskInletAssetReference
        for kind, raw in leaves:
            if kind == "asset":
                rows.setdefault(table, set()).add((task_id, ids[str(raw["uri"])]))
    for table, keys in rows.items():
        session.execute(insert(table), [_reference(table, dag_id, key, now) for key in keys])


_REFERENCES = (
    DagScheduleAssetReference,
    DagScheduleAssetAliasReference,
    TaskOutletAssetReference,
    TaskInletAssetReference,
)


def _reference(
    table: type[Any], dag_id: str, key: tuple[Any, ...], now: datetime
) -> dict[str, Any]:
    if table is DagScheduleAssetReference:
        return {"dag_id": dag_id, "asset_id": key[0], "created_at": now}
    if table is DagScheduleAssetAliasReference:
        return {"dag_id": dag_id, "alias_id": key[0], "created_at": now}
    return {"dag_id": dag_id, "task_id": key[0], "asset_id": key[1], "created_at": now}


def asset_ids(
    session: Session, specs: Sequence[Spec], now: datetime, *, describe: bool = False
) -> dict[str, int]:
    """The id of each asset by URI, created where missing; ``describe``: also update an
    existing asset's name, group and extra to these (a DAG declared them)."""
    wanted = {spec.uri: spec for spec in specs}
    if not wanted:
        return {}
    found = _existing(session, wanted)
    for uri, spec in wanted.items():
        row = found.get(uri)
        if row is None:
            found[uri] = _create(session, spec, now)
        elif describe and (row.name, row.group, row.extra) != _description(spec):
            row.name, row.group, row.extra = _description(spec)
            row.updated_at = now
    return {uri: row.id for uri, row in found.items()}


def _description(spec: Spec) -> tuple[str, str, dict[str, Any]]:
    return spec.name, spec.group, dict(spec.extra or {})


def _existing(session: Session, wanted: Mapping[str, Spec]) -> dict[str, AssetModel]:
    hashes = [uri_hash(uri) for uri in wanted]
    rows = session.scalars(select(AssetModel).where(AssetModel.uri_hash.in_(hashes))).all()
    return {row.uri: row for row in rows}


def _create(session: Session, spec: Spec, now: datetime) -> AssetModel:
    """A new asset; another process that created it at the same moment wins."""
    name, group, extra = _description(spec)
    row = AssetModel(
        uri=spec.uri,
        uri_hash=uri_hash(spec.uri),
        name=name,
        group=group,
        extra=extra,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return session.scalars(
            select(AssetModel).where(AssetModel.uri_hash == uri_hash(spec.uri))
        ).one()
    return row


def alias_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    """The id of each alias by name, created where missing."""
    wanted = set(names)
    if not wanted:
        return {}
    rows = session.execute(
        select(AssetAliasModel.name, AssetAliasModel.id).where(AssetAliasModel.name.in_(wanted))
    )
    found: dict[str, int] = dict(rows.all())
    for name in sorted(wanted - set(found)):
        row = AssetAliasModel(name=name, group="asset")
        try:
            with session.begin_nested():
                session.add(row)
            found[name] = row.id
        except IntegrityError:
            found[name] = session.scalars(
                select(AssetAliasModel.id).where(AssetAliasModel.name == name)
            ).one()
    return found


def record(
    session: Session,
    updates: Sequence[AssetUpdate],
    *,
    source: EventSource | None,
    now: datetime,
) -> list[AssetEvent]:
    """An event per update, queued for every active, unpaused DAG scheduled on its asset
    (directly or through an alias that resolved to it); an update through an alias also
    resolves the alias to its asset."""
    if not updates:
        return []
    specs = [Spec(u.uri, u.name or u.uri, u.group or "asset") for u in updates]
    ids = asset_ids(session, specs, now)
    aliases = alias_ids(session, [u.alias for u in updates if u.alias])
    _resolve_aliases(session, {(aliases[u.alias], ids[u.uri]) for u in updates if u.alias})
    events = [
        AssetEvent(
            asset_id=ids[update.uri],
            extra=dict(update.extra),
            source_dag_id=source.dag_id if source else None,
            source_task_id=source.task_id if source else None,
            source_run_id=source.run_id if source else None,
            source_map_index=source.map_index if source else None,
            source_alias_name=update.alias,
            timestamp=now,
        )
        for update in updates
    ]
    session.add_all(events)
    session.flush()
    consumers = _consumers(session, {event.asset_id for event in events})
    queue = [
        {"asset_id": e.asset_id, "target_dag_id": d, "event_id": e.id, "created_at": now}
        for e in events
        for d in sorted(consumers.get(e.asset_id, ()))
    ]
    if queue:
        session.execute(insert(AssetDagRunQueue), queue)
    return events


def _resolve_aliases(session: Session, pairs: set[tuple[int, int]]) -> None:
    if not pairs:
        return
    known = set(
        session.execute(
            select(AssetAliasAsset.alias_id, AssetAliasAsset.asset_id).where(
                AssetAliasAsset.alias_id.in_({alias for alias, _ in pairs})
            )
        ).all()
    )
    for alias_id, asset_id in sorted(pairs - known):
        try:
            with session.begin_nested():
                session.add(AssetAliasAsset(alias_id=alias_id, asset_id=asset_id))
        except IntegrityError:
            pass  # another try resolved it at the same moment


def _consumers(session: Session, asset_ids: set[int]) -> dict[int, set[str]]:
    """The active, unpaused DAGs scheduled on each asset, directly or through an alias."""
    live = (DagModel.is_active.is_(True), DagModel.is_paused.is_(False))
    direct = (
        select(DagScheduleAssetReference.asset_id, DagScheduleAssetReference.dag_id)
        .join(DagModel, DagModel.dag_id == DagScheduleAssetReference.dag_id)
        .where(DagScheduleAssetReference.asset_id.in_(asset_ids), *live)
    )
    through = (
        select(AssetAliasAsset.asset_id, DagScheduleAssetAliasReference.dag_id)
        .join(
            DagScheduleAssetAliasReference,
            DagScheduleAssetAliasReference.alias_id == AssetAliasAsset.alias_id,
        )
        .join(DagModel, DagModel.dag_id == DagScheduleAssetAliasReference.dag_id)
        .where(AssetAliasAsset.asset_id.in_(asset_ids), *live)
    )
    found: dict[int, set[str]] = {}
    for asset_id, dag_id in session.execute(direct.union(through)).all():
        found.setdefault(asset_id, set()).add(dag_id)
    return found


def find_asset(session: Session, uri: str) -> AssetModel | None:
    return session.scalars(select(AssetModel).where(AssetModel.uri_hash == uri_hash(uri))).first()
