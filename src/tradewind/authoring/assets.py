"""Assets (Airflow 2's datasets): named data a task produces (``outlets``) or reads
(``inlets``), and conditions over them (``a | b``, ``a & b``).

A DAG file that uses them imports and runs; what makes them data-aware is still to come: a
task's outlets record no asset events yet, and a DAG scheduled on assets is refused at parse
time with an error saying so (see :func:`is_asset_schedule`).
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


class Asset(BaseAsset):
    """Data identified by ``uri`` (and a ``name``, the URI by default), in a ``group``."""

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: Mapping[str, Any] | None = None,
        watchers: Iterable[Any] = (),
    ) -> None:
        if name is None and uri is None:
            raise DagDefinitionError("an asset needs a name or a uri")
        self.uri = _valid_uri(uri if uri is not None else str(name))
        self.name = name if name is not None else self.uri
        self.group = group
        self.extra = dict(extra or {})
        self.watchers = list(watchers)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and (self.uri, self.name) == (other.uri, other.name)

    def __hash__(self) -> int:
        return hash((self.uri, self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri={self.uri!r})"


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


class AssetAny(_Condition):
    """Any one of its assets updated."""


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
