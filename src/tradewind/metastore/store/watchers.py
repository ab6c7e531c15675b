"""Asset watchers in the metastore (event-driven scheduling): which triggers watch which asset,
kept in step with the DAGs by the DAG processor (:func:`sync`), and which of them a triggerer
runs (:data:`RUNNABLE`) and keeps (:data:`KEPT`).

A watcher is a ``trigger`` row linked to its asset by an ``asset_trigger`` row, which holds the
watcher's name. An asset's watchers are all those that the newest versions of the DAGs
scheduled on it declare for it (``{"asset": {..., "watchers": [{"name", "classpath",
"kwargs"}]}}`` in their schedule). When the DAG processor registers a new version of a DAG,
:func:`sync` looks at the assets that version and the one before are scheduled on: it links
the watchers declared and not linked yet (a new trigger row each), and removes those linked and
no longer declared (link and trigger row). A triggerer runs a watcher while an active, unpaused
DAG is scheduled on its asset; the trigger row stays while any DAG is, so that unpausing the
DAG, or its file coming back, starts the watcher again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, func, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    AssetModel,
    AssetTrigger,
    DagModel,
    DagScheduleAssetReference,
    SerializedDagModel,
    Trigger,
)

_LINK: Table = AssetTrigger.__table__  # type: ignore[assignment]
_REF: Table = DagScheduleAssetReference.__table__  # type: ignore[assignment]
_DAG: Table = DagModel.__table__  # type: ignore[assignment]
_TRIGGER: Table = Trigger.__table__  # type: ignore[assignment]

# A trigger that watches an asset some DAG is scheduled on: kept, not deleted as unused.
KEPT = exists().where(_LINK.c.trigger_id == _TRIGGER.c.id, _REF.c.asset_id == _LINK.c.asset_id)
# ... and one that an active, unpaused DAG is scheduled on: a triggerer runs it.
RUNNABLE = exists().where(
    _LINK.c.trigger_id == _TRIGGER.c.id,
    _REF.c.asset_id == _LINK.c.asset_id,
    _DAG.c.dag_id == _REF.c.dag_id,
    _DAG.c.is_active.is_(True),
    _DAG.c.is_paused.is_(False),
)

# A watcher as declared: (name, class path, its encoded kwargs as canonical JSON).
Key = tuple[str, str, str]


def declared_in(condition: Any) -> dict[str, list[Mapping[str, Any]]]:
    """The watchers a serialized schedule condition declares, by asset URI."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for spec in _asset_specs(condition):
        watchers = spec.get("watchers")
        if isinstance(watchers, list):
            found.setdefault(str(spec["uri"]), []).extend(
                watcher for watcher in watchers if _well_formed(watcher)
            )
    return found


def _asset_specs(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _asset_specs(item)
    elif isinstance(node, Mapping):
        if isinstance(node.get("asset"), Mapping):
            yield node["asset"]
        for kind in ("all", "any"):
            yield from _asset_specs(node.get(kind))


def _well_formed(watcher: Any) -> bool:
    return (
        isinstance(watcher, Mapping)
        and isinstance(watcher.get("name"), str)
        and isinstance(watcher.get("classpath"), str)
        and isinstance(watcher.get("kwargs"), dict)
    )


def _key(name: str, classpath: str, kwargs: Any) -> Key:
    return name, classpath, json.dumps(kwargs, sort_keys=True)


def scheduled_on(session: Session, dag_id: str) -> set[int]:
    """The assets the DAG's registered version is scheduled on (directly)."""
    return set(session.scalars(select(_REF.c.asset_id).where(_REF.c.dag_id == dag_id)).all())


def sync(session: Session, asset_ids: Iterable[int], *, declares: bool, now: datetime) -> None:
    """Link the watchers that the DAGs scheduled on these assets declare, and remove the ones
    no DAG declares any more (see the module docstring). ``declares``: whether the DAG being
    registered declares any; if not, and none of these assets has a watcher, nothing changes."""
    wanted = set(asset_ids)
    if not wanted:
        return
    linked, gone = _linked(session, wanted)
    if not declares and not linked:
        return
    declared = _declared(session, wanted)
    for asset_id in sorted(wanted):
        have = linked.get(asset_id, {})
        want = declared.get(asset_id, {})
        gone.extend(have[key] for key in have.keys() - want.keys())
        for key in sorted(want.keys() - have.keys()):
            _link(session, asset_id, want[key], now)
    if gone:
        session.execute(delete(_LINK).where(_LINK.c.trigger_id.in_(gone)))
        session.execute(delete(_TRIGGER).where(_TRIGGER.c.id.in_(gone)))


def _linked(session: Session, asset_ids: set[int]) -> tuple[dict[int, dict[Key, int]], list[int]]:
    """The watchers linked to each asset (their trigger ids), and the trigger ids of watchers
    linked twice (two processors that registered DAGs at the same moment) beyond the first."""
    rows = session.execute(
        select(
            _LINK.c.asset_id, _LINK.c.name, _TRIGGER.c.id, _TRIGGER.c.classpath, _TRIGGER.c.kwargs
        )
        .join(_TRIGGER, _TRIGGER.c.id == _LINK.c.trigger_id)
        .where(_LINK.c.asset_id.in_(asset_ids))
    ).all()
    found: dict[int, dict[Key, int]] = {}
    twice: list[int] = []
    for asset_id, name, trigger_id, classpath, kwargs in sorted(rows, key=lambda row: row[2]):
        have = found.setdefault(asset_id, {})
        key = _key(name, classpath, kwargs)
        if key in have:
            twice.append(trigger_id)
        else:
            have[key] = trigger_id
    return found, twice


def _declared(session: Session, asset_ids: set[int]) -> dict[int, dict[Key, Mapping[str, Any]]]:
    """The watchers declared for each asset by the newest versions of the DAGs scheduled on it."""
    pairs = session.execute(
        select(_REF.c.asset_id, _REF.c.dag_id).where(_REF.c.asset_id.in_(asset_ids))
    ).all()
    uris = dict(
        session.execute(
            select(AssetModel.id, AssetModel.uri).where(AssetModel.id.in_(asset_ids))
        ).all()
    )
    by_dag = _declared_by_dag(session, {dag_id for _, dag_id in pairs})
    found: dict[int, dict[Key, Mapping[str, Any]]] = {}
    for asset_id, dag_id in pairs:
        for watcher in by_dag.get(dag_id, {}).get(uris[asset_id], ()):
            key = _key(watcher["name"], watcher["classpath"], watcher["kwargs"])
            found.setdefault(asset_id, {})[key] = watcher
    return found


def _declared_by_dag(session: Session, dag_ids: set[str]) -> dict[str, dict[str, Any]]:
    if not dag_ids:
        return {}
    versions = SerializedDagModel
    newest = (
        select(versions.dag_id, func.max(versions.version).label("version"))
        .where(versions.dag_id.in_(dag_ids))
        .group_by(versions.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(versions.dag_id, versions.data).join(
            newest, and_(versions.dag_id == newest.c.dag_id, versions.version == newest.c.version)
        )
    ).all()
    return {dag_id: declared_in((data or {}).get("asset_condition")) for dag_id, data in rows}


def _link(session: Session, asset_id: int, watcher: Mapping[str, Any], now: datetime) -> None:
    trigger = Trigger(classpath=watcher["classpath"], kwargs=watcher["kwargs"], created_date=now)
    session.add(trigger)
    session.flush()
    session.add(AssetTrigger(asset_id=asset_id, trigger_id=trigger.id, name=watcher["name"]))
