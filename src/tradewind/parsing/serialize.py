"""DAGs as plain JSON, and back as the frozen objects that the scheduler, web server and CLI use.

``serialize_dag`` runs where user code is imported (the DAG processor). ``deserialize_dag``
gives a :class:`SerializedDag` (defined in :mod:`serialized`, re-exported here) that carries
everything needed to schedule and show the DAG without importing the DAG file. The JSON keys
of a task are the field names of :class:`SerializedTask`; those of a DAG are the field names
of :class:`SerializedDag`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from tradewind import timetables
from tradewind.authoring import assets, graph
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.dag import DAG
from tradewind.authoring.expandinput import ExpandInput, ListOfDictsExpandInput
from tradewind.authoring.mapped import MappedOperator
from tradewind.authoring.rules import TriggerRule, WeightRule
from tradewind.authoring.task_group import mapped_group_of
from tradewind.authoring.xcom_arg import ConcatXComArg, MapXComArg, XComArg, ZipXComArg
from tradewind.exceptions import SerializationError
from tradewind.operators.empty import EmptyOperator
from tradewind.parsing import mapspec
from tradewind.parsing.serialized import (
    ROOT_GROUP_ID,
    SerializedDag,
    SerializedTask,
    SerializedTaskGroup,
)
from tradewind.sensors.external_task import ExternalTaskMarker
from tradewind.triggers.base import StartTriggerArgs
from tradewind.triggers.serde import SerdeError

__all__ = [
    "ROOT_GROUP_ID",
    "SerializedDag",
    "SerializedTask",
    "SerializedTaskGroup",
    "dag_hash",
    "deserialize_dag",
    "serialize_dag",
]

FORMAT_VERSION = 1

_CALLBACKS = ("execute", "success", "failure", "retry", "skipped")
# Task fields added after format version 1 shipped, with their defaults: kept only when they
# differ, so a DAG stored before keeps its hash (see serialize_dag).
_LATER_TASK_FIELDS: dict[str, Any] = {
    "is_setup": False,
    "is_teardown": False,
    "on_failure_fail_dagrun": False,
    "max_active_tis_per_dag": None,
    "max_active_tis_per_dagrun": None,
    "ignore_first_depends_on_past": True,
    "wait_for_past_depends_before_skipping": False,
}
# Default reprs embed memory addresses, which differ on every parse; they must not reach the hash.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


# -- serializing --------------------------------------------------------------------------


def serialize_dag(dag: DAG) -> dict[str, Any]:
    """The DAG as plain JSON-able data: fixed key order, tasks sorted by id."""
    totals = _priority_weight_totals(dag)
    tasks = sorted(dag.tasks, key=lambda task: task.task_id)
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "lineno": dag.lineno,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "owners": sorted({task.owner for task in tasks}),
        "tags": sorted(dag.tags),
        "schedule": dag.timetable.summary,
        "timetable": dag.timetable.serialize(),
        "timezone": dag.timezone_name,
        "start_date": _iso(dag.start_date),
        "end_date": _iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": _seconds(dag.dagrun_timeout),
        "params": {name: _jsonable(dag.params[name].serialize()) for name in sorted(dag.params)},
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "has_on_success_callback": bool(dag.on_success_callback),
        "has_on_failure_callback": bool(dag.on_failure_callback),
        "render_template_as_native_obj": dag.render_template_as_native_obj,
        "task_groups": _serialize_groups(dag),
        "tasks": [_serialize_task(task, totals[task.task_id]) for task in tasks],
    }
    # Keys added later are left out at their defaults, so a DAG without them keeps its hash.
    edge_info = _edge_info(dag)
    if edge_info:
        data["edge_info"] = edge_info
    if dag.dag_display_name != dag.dag_id:
        data["dag_display_name"] = dag.dag_display_name
    if dag.asset_condition is not None:
        data["asset_condition"] = _jsonable(dag.asset_condition.to_json())
    if dag.deadline:
        data["deadlines"] = [alert.serialize() for alert in dag.deadline]
    if list(dag.params) != sorted(dag.params):
        # The params are stored by name; forms show them in the order the DAG declares them.
        data["params_order"] = list(dag.params)
    return data


def _serialize_task(task: BaseOperator, priority_weight_total: int) -> dict[str, Any]:
    is_sensor = bool(task.is_sensor)
    # A mapped task shows as the operator its instances are.
    shown = task.operator_class if isinstance(task, MappedOperator) else type(task)
    data: dict[str, Any] = {
        "task_id": task.task_id,
        "operator": shown.__name__,
        "operator_module": shown.__module__,
        "custom_operator_name": task.custom_operator_name,
        "upstream_task_ids": sorted(task.upstream_task_ids),
        "downstream_task_ids": sorted(task.downstream_task_ids),
        "trigger_rule": str(task.trigger_rule),
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _seconds(task.max_retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
        "depends_on_past": task.depends_on_past,
        "wait_for_downstream": task.wait_for_downstream,
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "priority_weight": task.priority_weight,
        "weight_rule": str(task.weight_rule),
        "priority_weight_total": priority_weight_total,
        "queue": task.queue,
        "executor_config": _jsonable(task.executor_config),
        "owner": task.owner,
        "do_xcom_push": task.do_xcom_push,
        "multiple_outputs": task.multiple_outputs,
        "template_fields": list(task.template_fields),
        "template_values": {name: _jsonable(getattr(task, name)) for name in task.template_fields},
        "is_sensor": is_sensor,
        "sensor_mode": getattr(task, "mode", None) if is_sensor else None,
        "poke_interval": getattr(task, "poke_interval", None) if is_sensor else None,
        "sensor_timeout": getattr(task, "timeout", None) if is_sensor else None,
        "soft_fail": bool(getattr(task, "soft_fail", False)) if is_sensor else False,
    }
    for kind in _CALLBACKS:
        data[f"has_on_{kind}_callback"] = bool(getattr(task, f"on_{kind}_callback"))
    data["ignore_downstream_trigger_rules"] = bool(
        getattr(task, "ignore_downstream_trigger_rules", False)
    )
    data["is_empty"] = isinstance(task, EmptyOperator)
    data["doc_md"] = task.doc_md
    group = task.task_group
    data["task_group_id"] = group.group_id if group is not None else None
    function = getattr(task, "python_callable", None)
    data["callable_name"] = _callable_name(function) if callable(function) else None
    data["params"] = {
        name: _jsonable(task.params[name].serialize()) for name in sorted(task.params)
    }
    data.update(_later_fields(task))
    if isinstance(task, ExternalTaskMarker):
        data["external_marker"] = {
            "external_dag_id": _jsonable(task.external_dag_id),
            "external_task_id": _jsonable(task.external_task_id),
            "logical_date": _jsonable(task.logical_date),
            "recursion_depth": task.recursion_depth,
        }
    return data


def _later_fields(task: BaseOperator) -> dict[str, Any]:
    """The task's fields added after format version 1, where they differ from the default."""
    data = {
        name: getattr(task, name)
        for name, default in _LATER_TASK_FIELDS.items()
        if getattr(task, name) != default
    }
    if task.task_display_name != task.task_id:
        data["task_display_name"] = task.task_display_name
    mapping = mapping_of(task)
    if mapping is not None:
        data["mapping"] = mapping
    if task.map_index_template is not None:
        data["map_index_template"] = task.map_index_template
    start = _start_trigger(task)
    if start is not None:
        data["start_trigger"] = start
    for kind in ("outlets", "inlets"):
        found = assets.references_json(getattr(task, kind, None) or ())
        if found:
            data[kind] = _jsonable(found)
    return data


def _start_trigger(task: BaseOperator) -> dict[str, Any] | None:
    """The deferral a task with ``start_from_trigger`` begins with, as JSON."""
    args = task.start_trigger_args
    if not task.start_from_trigger or not isinstance(args, StartTriggerArgs):
        return None
    try:
        return args.deferral().to_json()
    except SerdeError as exc:
        raise SerializationError(f"task {task.task_id!r}: start_trigger_args: {exc}") from None


def mapping_of(task: BaseOperator) -> dict[str, Any] | None:
    """``SerializedTask.mapping`` of ``task``: None unless it (or its group) is mapped."""
    if isinstance(task, MappedOperator):
        return {"length": length_expression(task.expand_input), "group_id": None}
    group = mapped_group_of(task.task_group)
    if group is None:
        return None
    return {"length": length_expression(group.expand_input), "group_id": group.group_id}


def length_expression(expand_input: ExpandInput) -> dict[str, Any]:
    """The :mod:`mapspec` expression of how many instances ``expand_input`` gives."""
    if isinstance(expand_input, ListOfDictsExpandInput):
        return _length_of(expand_input.value)
    parts = [_length_of(value) for value in expand_input.value.values()]
    return parts[0] if len(parts) == 1 else {"product": parts}


def _length_of(value: Any) -> dict[str, Any]:
    if isinstance(value, XComArg):
        return mapspec.xcom(value.operator.task_id, value.key)
    if isinstance(value, MapXComArg):
        return _length_of(value.arg)
    if isinstance(value, ZipXComArg):
        return {"zip": [_length_of(arg) for arg in value.args], "longest": value.longest}
    if isinstance(value, ConcatXComArg):
        return {"concat": [_length_of(arg) for arg in value.args]}
    if isinstance(value, list | tuple | dict):
        return mapspec.literal(len(value))
    raise SerializationError(f"cannot tell how many instances {value!r} expands to")


def _edge_info(dag: DAG) -> dict[str, Any]:
    """The DAG's edge data for edges that exist, in a fixed order."""
    kept: dict[str, Any] = {}
    for upstream_id in sorted(dag.edge_info):
        task = dag.task_dict.get(upstream_id)
        edges = dag.edge_info[upstream_id]
        found = {
            down: _jsonable(edges[down])
            for down in sorted(edges)
            if task is not None and down in task.downstream_task_ids
        }
        if found:
            kept[upstream_id] = found
    return kept


def _serialize_groups(dag: DAG) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    for group in dag.task_group.iter_groups():
        children = group.children.values()
        parent = group.parent_group
        shown = group.group_display_name
        groups[group.group_id or ROOT_GROUP_ID] = {
            "group_id": group.group_id or ROOT_GROUP_ID,
            "parent_id": None if parent is None else (parent.group_id or ROOT_GROUP_ID),
            "tooltip": group.tooltip,
            "prefix_group_id": group.prefix_group_id,
            "task_ids": sorted(c.task_id for c in children if isinstance(c, BaseOperator)),
            "group_ids": sorted(
                c.group_id for c in children if not isinstance(c, BaseOperator) and c.group_id
            ),
            **({"group_display_name": shown} if shown and shown != group.label else {}),
            **({"is_mapped": True} if group.is_mapped else {}),
        }
    return dict(sorted(groups.items()))


def _priority_weight_totals(dag: DAG) -> dict[str, int]:
    downstream = {tid: task.downstream_task_ids for tid, task in dag.task_dict.items()}
    upstream = {tid: task.upstream_task_ids for tid, task in dag.task_dict.items()}
    totals: dict[str, int] = {}
    for task_id, task in dag.task_dict.items():
        if task.weight_rule is WeightRule.ABSOLUTE:
            totals[task_id] = task.priority_weight
            continue
        side = upstream if task.weight_rule is WeightRule.UPSTREAM else downstream
        relatives = graph.flat_relatives(side, task_id)
        weights = (dag.task_dict[other].priority_weight for other in relatives)
        totals[task_id] = task.priority_weight + sum(weights)
    return totals


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _callable_name(function: Callable[..., Any]) -> str:
    # No module: the loader's module name for a DAG file is its own business, not the DAG's.
    name = getattr(function, "__qualname__", None)
    return name if isinstance(name, str) else type(function).__qualname__


def _jsonable(value: Any) -> Any:
    """JSON values as they are; callables by name; anything else by its repr (no addresses)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(item) for item in value), key=repr)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if callable(value) and hasattr(value, "__qualname__"):
        return _callable_name(value)
    return _ADDRESS.sub("", repr(value))


# Not part of the hash: a DAG that merely moved down its file (a new import, a comment) is
# not a new version of the DAG.
_UNHASHED_KEYS = frozenset({"lineno"})


def dag_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of serialized DAG data.

    It changes when the DAG's structure or any attribute changes, not when only the line on
    which the DAG is defined moves.
    """
    hashed = {key: value for key, value in data.items() if key not in _UNHASHED_KEYS}
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- deserializing ------------------------------------------------------------------------

_TASK_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "upstream_task_ids": frozenset,
    "downstream_task_ids": frozenset,
    "trigger_rule": TriggerRule,
    "weight_rule": WeightRule,
    "template_fields": tuple,
    "outlets": tuple,
    "inlets": tuple,
}
_DAG_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "params_order": tuple,
    "deadlines": tuple,
    "owners": tuple,
    "tags": tuple,
    "timetable": timetables.deserialize_timetable,
    "start_date": lambda value: None if value is None else dt.datetime.fromisoformat(value),
    "end_date": lambda value: None if value is None else dt.datetime.fromisoformat(value),
}


def _build(
    cls: type[Any], data: Mapping[str, Any], converters: Mapping[str, Any], what: str
) -> Any:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name not in data and _has_default(field):
            continue
        if field.name not in data:
            raise SerializationError(f"{what}: missing key {field.name!r}")
        convert = converters.get(field.name)
        try:
            values[field.name] = convert(data[field.name]) if convert else data[field.name]
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"{what}: bad {field.name!r}: {exc}") from None
    return cls(**values)


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return (
        field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
    )


def deserialize_dag(data: Mapping[str, Any]) -> SerializedDag:
    """Rebuild a SerializedDag from ``serialize_dag`` output (after a JSON round trip too)."""
    if not isinstance(data, Mapping):
        raise SerializationError(f"serialized DAG must be a mapping, not {type(data).__name__}")
    what = f"serialized DAG {data.get('dag_id')!r}"
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise SerializationError(f"{what}: unsupported format version {version!r}")
    raw_tasks = data.get("tasks")
    raw_groups = data.get("task_groups")
    if not isinstance(raw_tasks, list) or not isinstance(raw_groups, Mapping):
        raise SerializationError(f"{what}: 'tasks' must be a list and 'task_groups' a mapping")
    tasks: dict[str, SerializedTask] = {}
    for raw in raw_tasks:
        if not isinstance(raw, Mapping):
            raise SerializationError(f"{what}: each task must be a mapping")
        task = _build(SerializedTask, raw, _TASK_CONVERTERS, f"{what} task {raw.get('task_id')!r}")
        tasks[task.task_id] = task
    groups = {
        group_id: _build(
            SerializedTaskGroup,
            raw,
            {"task_ids": tuple, "group_ids": tuple},
            f"{what} group {group_id!r}",
        )
        for group_id, raw in raw_groups.items()
    }
    converters = {**_DAG_CONVERTERS, "tasks": lambda _: tasks, "task_groups": lambda _: groups}
    try:
        dag: SerializedDag = _build(SerializedDag, data, converters, what)
    except timetables.InvalidSchedule as exc:
        raise SerializationError(f"{what}: {exc}") from None
    return dag
