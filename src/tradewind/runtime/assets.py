"""Assets in a running try: ``outlet_events`` (what the try attaches to the events of its
outlets, and the assets it names through aliases), ``inlet_events`` and
``triggering_asset_events`` (events read from the metastore on first use, never before), and
the updates a successful try reports (:func:`updates_of`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tradewind.authoring.assets import Asset, AssetAlias, Metadata
from tradewind.reports import AssetUpdate
from tradewind.runtime import dates
from tradewind.states import DagRunType

if TYPE_CHECKING:
    from tradewind.runtime.context import Source

# The most events of one asset a try's ``inlet_events`` reads.
MAX_INLET_EVENTS = 1000


@dataclass(frozen=True)
class AssetRef:
    """The asset of an event (``event.asset``; Airflow 2's ``event.dataset``)."""

    uri: str
    name: str
    group: str


@dataclass(frozen=True)
class AssetEventView:
    """One asset event as a try sees it (timestamps are pendulum DateTimes in UTC)."""

    id: int
    asset: AssetRef
    extra: Mapping[str, Any]
    timestamp: datetime
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = None
    source_alias_name: str | None = None

    @property
    def dataset(self) -> AssetRef:
        """Airflow 2's name of :attr:`asset`."""
        return self.asset

    @property
    def uri(self) -> str:
        return self.asset.uri

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AssetEventView:
        return cls(
            id=int(raw["id"]),
            asset=AssetRef(str(raw["uri"]), str(raw["name"]), str(raw["group"])),
            extra=dict(raw.get("extra") or {}),
            timestamp=dates.to_pendulum(datetime.fromisoformat(raw["timestamp"])),
            source_dag_id=raw.get("source_dag_id"),
            source_task_id=raw.get("source_task_id"),
            source_run_id=raw.get("source_run_id"),
            source_map_index=raw.get("source_map_index"),
            source_alias_name=raw.get("source_alias_name"),
        )


def _uri(key: object) -> str:
    if isinstance(key, Asset):
        return key.uri
    if isinstance(key, str):
        return key
    raise KeyError(f"{key!r} is not an asset or an asset URI")


class TriggeringAssetEvents(Mapping[str, list[AssetEventView]]):
    """``triggering_asset_events``: the events that triggered this run, by asset URI (an
    :class:`Asset` works as a key too); read once, when first used."""

    def __init__(self, source: Source, dag_id: str, run_id: str, run_type: str) -> None:
        self._read = (source, dag_id, run_id) if run_type == DagRunType.ASSET_TRIGGERED else None
        self._events: dict[str, list[AssetEventView]] | None = None

    def _all(self) -> dict[str, list[AssetEventView]]:
        if self._events is None:
            self._events = {}
            if self._read is not None:
                source, dag_id, run_id = self._read
                for raw in source.triggering_asset_events(dag_id, run_id):
                    event = AssetEventView.from_json(raw)
                    self._events.setdefault(event.uri, []).append(event)
        return self._events

    def __getitem__(self, key: object) -> list[AssetEventView]:
        return self._all()[_uri(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"TriggeringAssetEvents({self._all()!r})"


class InletEvents(Mapping[str, Sequence[AssetEventView]]):
    """``inlet_events``: for each inlet asset of the task, its events, oldest first (at most
    :data:`MAX_INLET_EVENTS`), read when first asked for."""

    def __init__(self, source: Source, inlets: Sequence[Any]) -> None:
        self._source = source
        self._uris = [item.uri for item in inlets if isinstance(item, Asset)]
        self._read: dict[str, list[AssetEventView]] = {}

    def __getitem__(self, key: object) -> list[AssetEventView]:
        uri = _uri(key)
        if uri not in self._uris:
            raise KeyError(f"{uri!r} is not among the task's inlets")
        if uri not in self._read:
            rows = self._source.asset_events(uri, limit=MAX_INLET_EVENTS)
            self._read[uri] = [AssetEventView.from_json(raw) for raw in rows]
        return self._read[uri]

    def __iter__(self) -> Iterator[str]:
        return iter(self._uris)

    def __len__(self) -> int:
        return len(self._uris)


@dataclass
class OutletEventAccessor:
    """What a try says about one outlet: the ``extra`` of its event, or (for an alias) the
    assets it updated through it, with their extras (:meth:`add`)."""

    key: Asset | AssetAlias
    extra: dict[str, Any] = field(default_factory=dict)
    added: list[tuple[Asset, dict[str, Any]]] = field(default_factory=list)

    def add(self, asset: Asset, extra: Mapping[str, Any] | None = None) -> None:
        """Record an event of ``asset`` through this alias."""
        if not isinstance(self.key, AssetAlias):
            raise TypeError(f"add() is for aliases; {self.key!r} is an asset (set .extra)")
        if not isinstance(asset, Asset):
            raise TypeError(f"add() takes an Asset, not {asset!r}")
        self.added.append((asset, dict(extra or {})))

    @property
    def asset_alias_events(self) -> list[tuple[Asset, dict[str, Any]]]:
        return self.added


class OutletEvents(Mapping[Any, OutletEventAccessor]):
    """``outlet_events``: an accessor per asset or alias, made on first use (an asset's URI
    or an alias's name works as a key too, for the task's own outlets)."""

    def __init__(self, outlets: Sequence[Any]) -> None:
        self._outlets = [item for item in outlets if isinstance(item, Asset | AssetAlias)]
        self._accessors: dict[Asset | AssetAlias, OutletEventAccessor] = {}

    def _key(self, key: object) -> Asset | AssetAlias:
        if isinstance(key, Asset | AssetAlias):
            return key
        for item in self._outlets:
            if isinstance(key, str) and key in (getattr(item, "uri", None), item.name):
                return item
        raise KeyError(f"{key!r} is not an asset, an alias or one of the task's outlets")

    def __getitem__(self, key: object) -> OutletEventAccessor:
        found = self._key(key)
        if found not in self._accessors:
            self._accessors[found] = OutletEventAccessor(found)
        return self._accessors[found]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._accessors)

    def __len__(self) -> int:
        return len(self._accessors)

    def take(self, metadata: Metadata) -> None:
        """What a task yields or returns as :class:`Metadata`."""
        if metadata.alias is not None:
            self[AssetAlias(metadata.alias)].add(metadata.asset, metadata.extra)
        else:
            self[metadata.asset].extra.update(metadata.extra)

    def updates(self) -> list[AssetUpdate]:
        """An update per outlet asset (with its extra) and per asset added through an alias
        outlet."""
        found: list[AssetUpdate] = []
        for item in self._outlets:
            accessor = self._accessors.get(item)
            if isinstance(item, Asset):
                extra = accessor.extra if accessor else {}
                found.append(AssetUpdate(item.uri, item.name, item.group, dict(extra)))
                continue
            for asset, extra in accessor.added if accessor else ():
                update = AssetUpdate(asset.uri, asset.name, asset.group, extra, item.name)
                found.append(update)
        return found
