"""``@asset``: an asset defined by the function that makes it (Airflow 3's asset-centric
authoring)::

    @asset(schedule="@daily", uri="s3://bucket/raw_trips.parquet")
    def raw_trips():
        ...

    @asset(schedule=raw_trips)
    def daily_report(self, context, raw_trips):
        events = context["inlet_events"][raw_trips]

Decorating the function is the whole definition (it is never called): a DAG whose dag_id is the
asset's name (``name=``, else the function's name), with one task (task_id: the function's name)
whose outlet is the asset. The decorated name *is* that asset, an :class:`Asset`, to schedule
other DAGs on (``schedule=[raw_trips]``) or to use as an inlet or outlet.

The function's parameters without a default say what it receives: ``self`` its own asset,
``context`` the task's context, and any other name an asset of that name, which becomes an inlet
of the task (its events are in ``context["inlet_events"][asset]``). That asset is the one bound
to the name in the function's module (another ``@asset``, or an imported :class:`Asset`), else
``Asset(name)``, whose URI is its name. A parameter with a default receives its default.

``@asset.multi(schedule=..., outlets=[...])`` makes one task that updates several assets (its
dag_id and task_id: the function's name); the decorated name stands for all of them.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn

from tradewind.authoring import location
from tradewind.authoring.assets import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetWatcher,
    BaseAsset,
    is_asset_schedule,
)
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.dag import DAG
from tradewind.exceptions import DagDefinitionError

# The DAG arguments @asset takes besides ``schedule`` (Airflow's, plus ``start_date``).
DAG_ARGUMENTS = frozenset(
    {
        "dag_id",
        "dag_display_name",
        "description",
        "params",
        "on_success_callback",
        "on_failure_callback",
        "access_control",
        "owner_links",
        "tags",
        "is_paused_upon_creation",
        "start_date",
    }
)
# Airflow's @asset takes no start date; a time schedule needs one here. With catchup off (an
# @asset DAG never catches up) the first run is the latest one due, whatever this date.
DEFAULT_START = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Parameter names that are not assets.
SELF, CONTEXT = "self", "context"


class AssetTask(BaseOperator):
    """The one task of an ``@asset`` DAG: calls the function with what its parameters ask for
    (see the module docstring); what it returns is the task's XCom."""

    custom_operator_name = "@asset"
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        definition: BaseAsset,
        arguments: Mapping[str, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.definition = definition
        self.arguments = dict(arguments)

    def execute(self, context: Mapping[str, Any]) -> Any:
        given = {
            name: self.definition if value is _SELF else context if value is _CONTEXT else value
            for name, value in self.arguments.items()
        }
        return self.python_callable(**given)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_SELF, _CONTEXT = _Marker(SELF), _Marker(CONTEXT)
_MISSING: Any = _Marker("MISSING")


def _error(message: str) -> DagDefinitionError:
    where = location.caller_location()
    return DagDefinitionError(message, fileloc=where.fileloc, lineno=where.lineno)


def _check_function(function: object, decorator: str) -> Callable[..., Any]:
    if not inspect.isfunction(function):
        raise _error(f"{decorator} decorates a function, not {function!r}")
    if function.__name__ != function.__qualname__:
        raise _error(
            f"{decorator} {function.__qualname__}: a nested function is not supported; "
            "define it at the top level of its module"
        )
    return function


def _arguments(function: Callable[..., Any], decorator: str) -> tuple[dict[str, Any], list[Asset]]:
    """What each parameter of ``function`` without a default receives (markers for self and
    context), and the inlet assets among them."""
    arguments: dict[str, Any] = {}
    inlets: list[Asset] = []
    for name, parameter in inspect.signature(function).parameters.items():
        where = f"{decorator} {function.__name__}"
        if parameter.kind is parameter.VAR_POSITIONAL:
            raise _error(f"{where}: '*{name}' is not supported")
        if parameter.kind is parameter.VAR_KEYWORD:
            raise _error(f"{where}: '**{name}' is not supported")
        if parameter.default is not parameter.empty:
            continue  # it takes its default
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise _error(f"{where}: positional-only parameter {name!r} needs a default")
        if name in (SELF, CONTEXT):
            arguments[name] = _SELF if name == SELF else _CONTEXT
        else:
            arguments[name] = _inlet(function, name)
            inlets.append(arguments[name])
    return arguments, inlets


def _inlet(function: Callable[..., Any], name: str) -> Asset:
    bound = function.__globals__.get(name)
    return bound if isinstance(bound, Asset) else Asset(name)


def _make_dag(
    factory: _DagFactory,
    function: Callable[..., Any],
    *,
    dag_id: str,
    definition: BaseAsset,
    outlets: list[Any],
) -> DAG:
    """The DAG of one task that ``@asset`` (or ``@asset.multi``) makes of ``function``."""
    options = {"catchup": False, **factory.dag_kwargs}
    options["dag_id"] = options.get("dag_id") or dag_id
    timed = factory.schedule is not None and not is_asset_schedule(factory.schedule)
    if timed and options.get("start_date") is None:
        options["start_date"] = DEFAULT_START
    arguments, inlets = _arguments(function, factory.decorator)
    dag = DAG(schedule=factory.schedule, **options)
    with dag:
        AssetTask(
            task_id=function.__name__,
            python_callable=function,
            definition=definition,
            arguments=arguments,
            inlets=inlets,
            outlets=outlets,
        )
    return dag


class _DagFactory:
    """What ``@asset`` and ``@asset.multi`` share: the DAG arguments."""

    decorator = "@asset"

    def __init__(self, given: Any, schedule: Any, dag_kwargs: Mapping[str, Any]) -> None:
        if given is not _MISSING:
            raise _error(
                f"{self.decorator} takes keyword arguments, schedule= at least: "
                f"{self.decorator}(schedule=...), not {self.decorator} alone"
            )
        if schedule is _MISSING:
            raise _error(f"{self.decorator} needs schedule= (None: runs only when triggered)")
        unknown = sorted(set(dag_kwargs) - DAG_ARGUMENTS)
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            raise _error(f"{self.decorator} got unknown argument(s) {names}")
        self.schedule = schedule
        self.dag_kwargs = dict(dag_kwargs)


class asset(_DagFactory):  # Airflow's name, lower case
    """``@asset(schedule=..., name=..., uri=..., group=..., extra=..., watchers=[...])``, with
    the DAG arguments in :data:`DAG_ARGUMENTS` too (see the module docstring)."""

    def __init__(
        self,
        given: Any = _MISSING,
        /,
        *,
        schedule: Any = _MISSING,
        name: str | None = None,
        uri: str | None = None,
        group: str = "asset",
        extra: Mapping[str, Any] | None = None,
        watchers: Iterable[AssetWatcher] | None = None,
        **dag_kwargs: Any,
    ) -> None:
        super().__init__(given, schedule, dag_kwargs)
        if name in (SELF, CONTEXT):
            raise _error(f"@asset: {name!r} cannot be an asset's name")
        self.name = name
        self.uri = uri
        self.group = group
        self.extra = dict(extra or {})
        self.watchers = list(watchers or ())

    def __call__(self, function: Callable[..., Any]) -> AssetDefinition:
        return AssetDefinition(_check_function(function, self.decorator), self)

    class multi(_DagFactory):
        """``@asset.multi(schedule=..., outlets=[...])``: one task that updates every asset
        (or alias) in ``outlets``, with the DAG arguments in :data:`DAG_ARGUMENTS` too."""

        decorator = "@asset.multi"

        def __init__(
            self,
            given: Any = _MISSING,
            /,
            *,
            schedule: Any = _MISSING,
            outlets: Iterable[Any] = (),
            **dag_kwargs: Any,
        ) -> None:
            super().__init__(given, schedule, dag_kwargs)
            self.outlets = list(outlets)
            if not self.outlets:
                raise _error("@asset.multi needs outlets: the assets its function updates")
            for found in self.outlets:
                if not isinstance(found, Asset | AssetAlias):
                    raise _error(f"@asset.multi outlets are assets or aliases, not {found!r}")

        def __call__(self, function: Callable[..., Any]) -> MultiAssetDefinition:
            return MultiAssetDefinition(_check_function(function, self.decorator), self)


def _not_called(definition: object) -> NoReturn:
    raise TypeError(
        f"{definition!r} is an asset defined by its function, not a function to call: "
        "the DAG that updates it runs the function"
    )


class AssetDefinition(Asset):
    """What ``@asset`` makes of a function: the asset itself, whose DAG (:attr:`dag`) runs the
    function to update it."""

    def __init__(self, function: Callable[..., Any], source: asset) -> None:
        name = source.name or function.__name__
        super().__init__(
            name,
            source.uri if source.uri is not None else name,
            group=source.group,
            extra=source.extra,
            watchers=source.watchers,
        )
        self.function = function
        self.dag = _make_dag(source, function, dag_id=name, definition=self, outlets=[self])

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _not_called(self)


class MultiAssetDefinition(BaseAsset):
    """What ``@asset.multi`` makes of a function: all its outlets (in a schedule: every one
    of them updated), whose DAG (:attr:`dag`) runs the function to update them."""

    def __init__(self, function: Callable[..., Any], source: asset.multi) -> None:
        self.function = function
        self.outlets = list(source.outlets)
        self.dag = _make_dag(
            source, function, dag_id=function.__name__, definition=self, outlets=self.outlets
        )

    def __repr__(self) -> str:
        return f"MultiAssetDefinition({self.function.__name__!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _not_called(self)

    def iter_assets(self) -> Iterator[BaseAsset]:
        for found in self.outlets:
            yield from found.iter_assets()

    def to_json(self) -> dict[str, Any]:
        if len(self.outlets) == 1:
            return dict(self.outlets[0].to_json())
        return AssetAll(*self.outlets).to_json()
