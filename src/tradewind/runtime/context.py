"""The context a task runs with: dates, the run, ``ti``, params, ``var``, ``conn``, macros.

Everything a task reads from the metastore goes through a :class:`Source` (read-only); what it
pushes with ``ti.xcom_push`` is collected here and sent with the try's outcome, because the
scheduler is the only writer of the metastore.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from tradewind import limits
from tradewind.authoring.params import resolve_params
from tradewind.exceptions import TradewindError
from tradewind.runtime import macros
from tradewind.sensors import base as sensor_base
from tradewind.workloads import TaskKey

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG
    from tradewind.metastore.store.connections import Connection

RETURN_VALUE_KEY = "return_value"
# The longest XCom key the metastore stores (its column's length).
MAX_KEY_LENGTH = 512


class XComValueError(TradewindError, TypeError):
    """A value pushed as an XCom is not plain JSON."""


class _Missing(TradewindError, KeyError):
    def __str__(self) -> str:
        # KeyError would wrap the message in quotes.
        return str(self.args[0]) if self.args else ""


class VariableNotFound(_Missing):
    """``var.value.NAME`` for a variable that does not exist."""


class ConnectionNotFound(_Missing):
    """``conn.NAME`` for a connection that does not exist."""


class Source(Protocol):
    """Read-only access to what a task may read from the metastore."""

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        """The value pushed under ``key`` (None if nothing was)."""

    def variable(self, key: str) -> str | None:
        """A variable's value (None if there is no such variable)."""

    def connection(self, conn_id: str) -> Connection | None:
        """A connection with its secrets (None if there is no such connection)."""


def ensure_json(value: Any, what: str, max_mb: float | None = None) -> None:
    """Raise :class:`XComValueError` unless ``value`` is plain JSON, and
    :class:`~tradewind.limits.TooLarge` when its JSON text is over ``max_mb``."""
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise XComValueError(
            f"{what} is not JSON-serializable ({exc}); XComs hold plain JSON values: "
            "str, int, float, bool, None, and lists and dicts of them"
        ) from None
    if max_mb is not None:
        limits.check(what, size, max_mb, "core.max_xcom_mb")


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

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DagRunView:
        """From a workload's ``run`` (the same fields, timestamps as ISO text)."""
        data: dict[str, Any] = {name: raw[name] for name in _RUN_FIELDS if name in raw}
        for name in ("logical_date", "data_interval_start", "data_interval_end", "start_date"):
            value = data.get(name)
            data[name] = datetime.fromisoformat(value) if isinstance(value, str) else None
        return cls(**data)

    @property
    def execution_date(self) -> datetime:
        """Airflow 1's name of ``logical_date``."""
        return self.logical_date


_RUN_FIELDS = tuple(f.name for f in fields(DagRunView))


class TaskInstanceView:
    """``ti`` in the context: which try this is, and XCom push and pull."""

    def __init__(
        self,
        key: TaskKey,
        task: BaseOperator,
        source: Source,
        *,
        hostname: str,
        pid: int,
        max_xcom_mb: float | None = None,
    ) -> None:
        self.key = key
        self.dag_id = key.dag_id
        self.task_id = key.task_id
        self.run_id = key.run_id
        self.map_index = key.map_index
        self.try_number = key.try_number
        self.max_tries = task.retries
        self.task = task
        self.hostname = hostname
        self.pid = pid
        self.pushed: dict[str, Any] = {}
        # The largest value a push may hold (core.max_xcom_mb); None: no limit.
        self.max_xcom_mb = max_xcom_mb
        self._source = source

    def xcom_push(self, key: str, value: Any) -> None:
        """Push ``value`` under ``key``; it is stored when the try finishes."""
        if not isinstance(key, str) or not key:
            raise XComValueError(f"an XCom key must be a non-empty string, not {key!r}")
        if len(key) > MAX_KEY_LENGTH or "\x00" in key:
            raise XComValueError(
                f"an XCom key must be at most {MAX_KEY_LENGTH} characters, without NUL: {key!r}"
            )
        ensure_json(value, f"XCom {key!r} of task {self.task_id!r}", self.max_xcom_mb)
        self.pushed[key] = value

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        key: str = RETURN_VALUE_KEY,
        dag_id: str | None = None,
        map_indexes: int | None = None,
        default: Any = None,
    ) -> Any:
        """The value a task pushed in this run (a list of values for a list of task ids).

        ``task_ids=None`` takes the latest value pushed under ``key`` by any task.
        """
        if task_ids is None or isinstance(task_ids, str):
            return self._pull_one(task_ids, key, dag_id, map_indexes, default)
        return [self._pull_one(t, key, dag_id, map_indexes, default) for t in task_ids]

    def _pull_one(
        self, task_id: str | None, key: str, dag_id: str | None, map_index: int | None, default: Any
    ) -> Any:
        own = dag_id in (None, self.dag_id) and task_id == self.task_id
        if own and key in self.pushed:
            return self.pushed[key]
        value = self._source.xcom(
            dag_id or self.dag_id, self.run_id, task_id, key, -1 if map_index is None else map_index
        )
        return default if value is None else value

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.key}>"


class _VariableValues:
    def __init__(self, source: Source, decode: bool) -> None:
        self._source = source
        self._decode = decode

    def get(self, key: str, default: Any = None) -> Any:
        value = self._source.variable(key)
        if value is None:
            return default
        if not self._decode:
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise VariableNotFound(f"variable {key!r} does not hold JSON") from None

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        missing = object()
        value = self.get(key, missing)
        if value is missing:
            raise VariableNotFound(f"variable {key!r} does not exist")
        return value

    def __getitem__(self, key: str) -> Any:
        return self.__getattr__(key)


class VariableAccessor:
    """``var`` in the context: ``var.value.NAME`` (text) and ``var.json.NAME`` (decoded)."""

    def __init__(self, source: Source) -> None:
        self.value = _VariableValues(source, decode=False)
        self.json = _VariableValues(source, decode=True)


class ConnectionAccessor:
    """``conn`` in the context: ``conn.NAME`` is the connection with id NAME."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def get(self, conn_id: str) -> Connection:
        found = self._source.connection(conn_id)
        if found is None:
            raise ConnectionNotFound(f"connection {conn_id!r} does not exist")
        return found

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("_"):
            raise AttributeError(conn_id)
        return self.get(conn_id)

    def __getitem__(self, conn_id: str) -> Connection:
        return self.get(conn_id)


def build_context(
    dag: DAG,
    task: BaseOperator,
    run: DagRunView,
    ti: TaskInstanceView,
    source: Source,
    *,
    test_mode: bool = False,
) -> dict[str, Any]:
    """The template and ``execute()`` context; ParamValidationError for a bad run conf."""
    logical = run.logical_date
    ds_nodash = logical.strftime("%Y%m%d")
    params = resolve_params({**dag.params, **task.params}, run.conf)
    return {
        "conf": run.conf,
        "conn": ConnectionAccessor(source),
        "dag": dag,
        "dag_run": run,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": ds_nodash,
        "execution_date": logical,
        "logical_date": logical,
        "macros": macros,
        "map_index": ti.map_index,
        "params": params,
        "run_id": run.run_id,
        "task": task,
        "task_instance": ti,
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{ds_nodash}",
        "test_mode": test_mode,
        "ti": ti,
        "try_number": ti.try_number,
        "ts": logical.isoformat(),
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": logical.strftime("%Y%m%dT%H%M%S%z"),
        "var": VariableAccessor(source),
    }


def is_rescheduling_sensor(task: BaseOperator) -> bool:
    """Whether ``task`` is a sensor in reschedule mode (it needs :func:`sensor_state`)."""
    return isinstance(task, sensor_base.BaseSensorOperator) and task.mode == "reschedule"


def sensor_state(started_at: datetime | None, poke_count: int) -> dict[str, Any]:
    """Context entries of a sensor in reschedule mode.

    ``started_at`` is when its first poke of this try started (None: now).
    """
    return {
        sensor_base.STARTED_AT_KEY: started_at or datetime.now(UTC),
        sensor_base.POKE_COUNT_KEY: poke_count,
    }
