"""Assets (Airflow 2's datasets): named data a task produces (``outlets``) or reads
(``inlets``), and conditions over them (``a | b``, ``a & b``) that a DAG is scheduled on.

Each serializes to plain JSON (:meth:`BaseAsset.to_json`): ``{"asset": {"uri", "name",
"group", "extra"}}``, ``{"alias": {"name", "group"}}``, ``{"all": [...]}``, ``{"any": [...]}``;
the scheduler evaluates that (:mod:`tradewind.parsing.assetcond`), never these objects. An asset
with watchers (:class:`AssetWatcher`) also has ``"watchers": [{"name", "classpath", "kwargs"}]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from tradewind.exceptions import DagDefinitionError

MAX_URI_LENGTH = 1500


class BaseAsset:
    """Anything a DAG may be scheduled on: an asset, an alias, or a condition over them."""

    def __or__(self, other: BaseAsset) -> AssetAny:
        return AssetAny(self, other)

    def __and__(self, other: BaseAsset) -> AssetAll:
        return AssetAll(self, other)

    def iter_assets(self) -> Iterator[BaseAsset]:
        yield self

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


class Asset(BaseAsset):
    """Data identified by ``uri`` (and a ``name``, the URI by default), in a ``group``."""

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: Mapping[str, Any] | None = None,
        watchers: Iterable[AssetWatcher] | None = None,
    ) -> None:
        if name is None and uri is None:
            raise DagDefinitionError("an asset needs a name or a uri")
        self.uri = _valid_uri(uri if uri is not None else str(name))
        self.name = name if name is not None else self.uri
        self.group = group
        self.extra = dict(extra or {})
        self.watchers = _valid_watchers(watchers)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and (self.uri, self.name) == (other.uri, other.name)

    def __hash__(self) -> int:
        return hash((self.uri, self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri={self.uri!r})"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uri": self.uri,
            "name": self.name,
            "group": self.group,
            "extra": self.extra,
        }
        if self.watchers:
            data["watchers"] = [watcher.to_json() for watcher in self.watchers]
        return {"asset": data}


class AssetWatcher:
    """Watches something outside tradewind for an asset (event-driven scheduling): the
    triggerer runs ``trigger`` while an active, unpaused DAG is scheduled on the asset, and each
    event it yields is an update of the asset (its ``extra``: ``{"from_trigger": true,
    "payload": <the event's payload>}``). The trigger must be a
    :class:`~tradewind.triggers.base.BaseEventTrigger`: one that fires once per outside event,
    since it runs again after each one."""

    def __init__(self, name: str, trigger: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DagDefinitionError(f"an asset watcher needs a non-empty name, not {name!r}")
        # Duck-typed: the trigger classes live above this module.
        if not callable(getattr(trigger, "watcher_json", None)):
            raise DagDefinitionError(
                f"asset watcher {name!r}: its trigger must be an event trigger (a subclass of "
                f"BaseEventTrigger, tradewind.triggers.base), not {type(trigger).__name__}"
            )
        self.name = name
        self.trigger = trigger

    def __repr__(self) -> str:
        return f"AssetWatcher({self.name!r}, {self.trigger!r})"

    def to_json(self) -> dict[str, Any]:
        """``{"name", "classpath", "kwargs"}`` (the kwargs encoded as a trigger's are)."""
        try:
            described = dict(self.trigger.watcher_json())
        except TypeError as exc:
            raise DagDefinitionError(f"asset watcher {self.name!r}: {exc}") from None
        return {"name": self.name, **described}


class Dataset(Asset):
    """Airflow 2's name of an asset: ``Dataset(uri, extra=...)``."""

    def __init__(self, uri: str, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(uri=uri, extra=extra, group="dataset")


class AssetAlias(BaseAsset):
    """A name under which a task says at run time which assets it updated."""

    def __init__(self, name: str, group: str = "asset") -> None:
        if not isinstance(name, str) or not name.strip():
            raise DagDefinitionError(f"an asset alias needs a non-empty name, not {name!r}")
        self.name = name
        self.group = group

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and self.name == other.name

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def to_json(self) -> dict[str, Any]:
        return {"alias": {"name": self.name, "group": self.group}}


class _Condition(BaseAsset):
    def __init__(self, *objects: BaseAsset) -> None:
        for found in objects:
            if not isinstance(found, BaseAsset):
                raise DagDefinitionError(f"{found!r} is not an asset, an alias or a condition")
        self.objects = list(objects)

    def iter_assets(self) -> Iterator[BaseAsset]:
        for found in self.objects:
            yield from found.iter_assets()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"


class AssetAll(_Condition):
    """Every one of its assets updated."""

    def to_json(self) -> dict[str, Any]:
        return {"all": [found.to_json() for found in self.objects]}


class AssetAny(_Condition):
    """Any one of its assets updated."""

    def to_json(self) -> dict[str, Any]:
        return {"any": [found.to_json() for found in self.objects]}


class Metadata:
    """What a task yields to attach ``extra`` to the event of one of its outlets (or, with
    ``alias``, to emit an event for ``asset`` through that alias)."""

    def __init__(
        self,
        asset: Asset,
        extra: Mapping[str, Any] | None = None,
        alias: AssetAlias | str | None = None,
    ) -> None:
        if not isinstance(asset, Asset):
            raise TypeError(f"Metadata needs an Asset, not {asset!r}")
        self.asset = asset
        self.extra = dict(extra or {})
        self.alias = alias.name if isinstance(alias, AssetAlias) else alias


# Airflow 2's names.
DatasetAlias = AssetAlias
DatasetAll = AssetAll
DatasetAny = AssetAny


def is_asset_schedule(schedule: object) -> bool:
    """Whether a DAG's ``schedule`` is on assets (one, a list of them, or a condition)."""
    if isinstance(schedule, BaseAsset):
        return True
    return (
        isinstance(schedule, list | tuple)
        and bool(schedule)
        and all(isinstance(item, BaseAsset) for item in schedule)
    )


def condition_of(schedule: object) -> BaseAsset:
    """The condition a DAG's asset ``schedule`` means: a list is all of its items."""
    if isinstance(schedule, BaseAsset):
        return schedule
    if not isinstance(schedule, list | tuple) or not schedule:
        raise DagDefinitionError(f"{schedule!r} is not an asset, a list of them or a condition")
    items = list(schedule)
    return items[0] if len(items) == 1 else AssetAll(*items)


def as_references(name: str, given: object) -> list[Any]:
    """A task's ``inlets`` or ``outlets``: a list (one item alone is taken as a list of one).
    Items that are not assets or aliases (Airflow's older lineage entities) are kept, but only
    assets and aliases are recorded."""
    if given is None:
        return []
    items = list(given) if isinstance(given, list | tuple | set) else [given]
    for item in items:
        if isinstance(item, _Condition):
            raise ValueError(f"{name} takes assets and aliases, not a condition ({item!r})")
    return items


def references_json(items: Iterable[Any]) -> list[dict[str, Any]]:
    """The assets and aliases among a task's inlets or outlets, as JSON (in their order)."""
    return [item.to_json() for item in items if isinstance(item, Asset | AssetAlias)]


def _valid_watchers(watchers: Iterable[Any] | None) -> list[AssetWatcher]:
    found = list(watchers or ())
    for watcher in found:
        if not isinstance(watcher, AssetWatcher):
            raise DagDefinitionError(f"an asset's watchers are AssetWatchers, not {watcher!r}")
    return found


def _valid_uri(uri: object) -> str:
    if not isinstance(uri, str) or not uri.strip():
        raise DagDefinitionError(f"an asset's uri must be a non-empty string, not {uri!r}")
    if len(uri) > MAX_URI_LENGTH:
        raise DagDefinitionError(f"an asset's uri is at most {MAX_URI_LENGTH} characters")
    if not uri.isascii() or any(c.isspace() for c in uri):
        raise DagDefinitionError(f"an asset's uri must be ASCII without spaces: {uri!r}")
    if urlsplit(uri).scheme.lower() == "airflow":
        raise DagDefinitionError(f"the 'airflow' scheme is reserved: {uri!r}")
    return uri
