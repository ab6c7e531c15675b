"""The context a task runs with: dates, the run, ``ti``, params, ``var``, ``conn``, macros.

Everything a task reads from the metastore goes through a :class:`Source` (read-only). The
context holds Airflow's keys, Airflow 2's included: those Airflow 3 dropped warn with a
:class:`ContextDeprecationWarning` when read. :func:`get_current_context` returns the
context of the try running in this process.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from tradewind.authoring.params import resolve_params
from tradewind.exceptions import TradewindError
from tradewind.runtime import assets, dates, macros
from tradewind.runtime.accessors import (
    ConnectionAccessor,
    ConnectionNotFound,
    VariableAccessor,
    VariableNotFound,
)
from tradewind.runtime.taskinstance import (
    MAX_KEY_LENGTH,
    RETURN_VALUE_KEY,
    TaskInstanceView,
    XComValueError,
    ensure_json,
)
from tradewind.sensors import base as sensor_base

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG
    from tradewind.metastore.store.connections import Connection

__all__ = [
    "MAX_KEY_LENGTH",
    "RETURN_VALUE_KEY",
    "ConnectionAccessor",
    "ConnectionNotFound",
    "Context",
    "ContextDeprecationWarning",
    "DagRunView",
    "NoCurrentContext",
    "PreviousRun",
    "Source",
    "TaskInstanceView",
    "VariableAccessor",
    "VariableNotFound",
    "XComValueError",
    "build_context",
    "ensure_json",
    "get_current_context",
    "is_rescheduling_sensor",
    "sensor_state",
]


class ContextDeprecationWarning(DeprecationWarning):
    """A task read a context key that Airflow 3 removed (``execution_date``, ``next_ds``...)."""


class NoCurrentContext(TradewindError, RuntimeError):
    """:func:`get_current_context` was called outside a running task."""


class Source(Protocol):
    """Read-only access to what a task may read from the metastore."""

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        """The value pushed under ``key`` (None if nothing was)."""

    def xcom_count(self, dag_id: str, run_id: str, task_id: str, key: str) -> int:
        """How many instances of the mapped task ``task_id`` pushed ``key``."""

    def xcom_values(
        self, dag_id: str, run_id: str, task_id: str, key: str, *, offset: int, limit: int
    ) -> list[Any]:
        """The values the mapped task's instances pushed under ``key``, in map-index order,
        from position ``offset`` (at most ``limit``; instances that pushed nothing take no
        position)."""

    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The asset events that triggered a run, oldest first (as JSON)."""

    def asset_events(self, uri: str, *, limit: int) -> list[dict[str, Any]]:
        """The oldest ``limit`` events of an asset (as JSON)."""

    def variable(self, key: str) -> str | None:
        """A variable's value (None if there is no such variable)."""

    def connection(self, conn_id: str) -> Connection | None:
        """A connection with its secrets (None if there is no such connection)."""


def _dates(raw: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``raw`` among ``names``, ISO text read back as datetimes."""
    data = {name: raw[name] for name in names if name in raw}
    for name, value in data.items():
        if isinstance(value, str) and name.endswith(("date", "start", "end")):
            data[name] = datetime.fromisoformat(value)
    return data


@dataclass(frozen=True)
class PreviousRun:
    """The DAG's latest successful run before this one (``prev_*_success`` in the context)."""

    logical_date: datetime
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PreviousRun:
        """From a workload's ``run["previous_success"]`` (timestamps as ISO text)."""
        return cls(**_dates(raw, _PREVIOUS_FIELDS))


@dataclass(frozen=True)
class DagRunView:
    """The DAG run a try belongs to, read-only (``dag_run`` in the context)."""

    dag_id: str
    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_type: str = "manual"
    conf: dict[str, Any] = field(default_factory=dict)
    start_date: datetime | None = None
    external_trigger: bool = False
    id: int | None = None
    previous_success: PreviousRun | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DagRunView:
        """From a workload's ``run`` (the same fields, timestamps as ISO text)."""
        data = _dates(raw, _RUN_FIELDS)
        data.setdefault("start_date", None)
        previous = raw.get("previous_success")
        if isinstance(previous, Mapping):
            data["previous_success"] = PreviousRun.from_json(previous)
        return cls(**data)

    @property
    def execution_date(self) -> datetime:
        """Airflow 1's name of ``logical_date``."""
        return self.logical_date

    def in_pendulum(self) -> DagRunView:
        """This run with its dates as pendulum DateTimes in UTC (as the context shows it)."""
        start = self.start_date
        return dataclasses.replace(
            self,
            logical_date=dates.to_pendulum(self.logical_date),
            data_interval_start=dates.to_pendulum(self.data_interval_start),
            data_interval_end=dates.to_pendulum(self.data_interval_end),
            start_date=None if start is None else dates.to_pendulum(start),
        )


_RUN_FIELDS = tuple(f.name for f in fields(DagRunView) if f.name != "previous_success")
_PREVIOUS_FIELDS = tuple(f.name for f in fields(PreviousRun))


class Context(dict[str, Any]):
    """A task's context: a dict that warns when a task reads a key Airflow 3 removed."""

    def __getitem__(self, key: str) -> Any:
        replacement = dates.DEPRECATED.get(key)
        if replacement is not None:
            warnings.warn(
                f"the context key {key!r} is deprecated (Airflow 3 removed it): {replacement}",
                ContextDeprecationWarning,
                stacklevel=2,
            )
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def build_context(
    dag: DAG,
    task: BaseOperator,
    run: DagRunView,
    ti: TaskInstanceView,
    source: Source,
    *,
    test_mode: bool = False,
) -> Context:
    """The template and ``execute()`` context; ParamValidationError for a bad run conf."""
    run = run.in_pendulum()
    context = Context(dates.date_entries(run))
    context.update(dates.deprecated_date_entries(dag, run))
    ds_nodash = context["ds_nodash"]
    inlets = list(getattr(task, "inlets", None) or [])
    outlets = list(getattr(task, "outlets", None) or [])
    triggering = assets.TriggeringAssetEvents(source, run.dag_id, run.run_id, run.run_type)
    context.update(
        conf=run.conf,
        conn=ConnectionAccessor(source),
        dag=dag,
        dag_run=run,
        expanded_ti_count=None,
        inlets=inlets,
        macros=macros,
        map_index=ti.map_index,
        map_index_template=getattr(task, "map_index_template", None),
        outlets=outlets,
        params=resolve_params({**dag.params, **task.params}, run.conf),
        run_id=run.run_id,
        task=task,
        task_instance=ti,
        task_instance_key_str=f"{dag.dag_id}__{task.task_id}__{ds_nodash}",
        test_mode=test_mode,
        ti=ti,
        triggering_asset_events=triggering,
        triggering_dataset_events=triggering,
        inlet_events=assets.InletEvents(source, inlets),
        outlet_events=assets.OutletEvents(outlets),
        try_number=ti.try_number,
        var=VariableAccessor(source),
    )
    return context


# The contexts of the tries running in this process, innermost last.
_CURRENT: list[Mapping[str, Any]] = []


@contextmanager
def current_context(context: Mapping[str, Any]) -> Iterator[None]:
    """Make ``context`` what :func:`get_current_context` returns while the block runs."""
    _CURRENT.append(context)
    try:
        yield
    finally:
        _CURRENT.pop()


def get_current_context() -> Mapping[str, Any]:
    """The context of the task running now (Airflow's ``get_current_context``).

    Raises :class:`NoCurrentContext` outside a running task (in a DAG file's top level,
    for instance).
    """
    if not _CURRENT:
        raise NoCurrentContext(
            "get_current_context() was called outside a running task: call it from a task's "
            "execute() or its Python callable, not at the top level of a DAG file"
        )
    return _CURRENT[-1]


def is_rescheduling_sensor(task: BaseOperator) -> bool:
    """Whether ``task`` (or, for a mapped task, its instances) is a sensor in reschedule mode
    (it needs :func:`sensor_state`)."""
    operator_class = getattr(task, "operator_class", type(task))
    is_sensor = issubclass(operator_class, sensor_base.BaseSensorOperator)
    return is_sensor and getattr(task, "mode", None) == "reschedule"


def sensor_state(started_at: datetime | None, poke_count: int) -> dict[str, Any]:
    """Context entries of a sensor in reschedule mode.

    ``started_at`` is when its first poke of this try started (None: now).
    """
    return {
        sensor_base.STARTED_AT_KEY: started_at or datetime.now(UTC),
        sensor_base.POKE_COUNT_KEY: poke_count,
    }
