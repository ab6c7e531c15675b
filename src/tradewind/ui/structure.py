"""A DAG's structure as the pages draw it: rows of the grid (task groups with their tasks, in
dependency order) and group membership, built once per serialized version and kept in an LRU
cache (deserializing a big DAG is not free)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tradewind.metastore.store import grid as grid_store
from tradewind.parsing.serialize import ROOT_GROUP_ID, SerializedDag, deserialize_dag

# The state a task group shows: the first of these that any of its tasks is in.
GROUP_PRIORITY = (
    "failed",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "running",
    "deferred",
    "restarting",
    "queued",
    "scheduled",
    "none",
    "success",
    "skipped",
    "removed",
)
_RANK = {state: rank for rank, state in enumerate(GROUP_PRIORITY)}


@dataclass(frozen=True)
class Row:
    """One grid row: a task or a task group, ``depth`` levels deep."""

    kind: str  # "task" or "group"
    id: str
    label: str
    depth: int
    parents: tuple[str, ...]  # enclosing group ids, outermost first


@dataclass(frozen=True)
class Structure:
    dag: SerializedDag
    rows: tuple[Row, ...]
    group_tasks: Mapping[str, tuple[str, ...]]  # group id -> every task inside, however deep
    task_group: Mapping[str, str]  # task id -> its innermost group id ("" for none)

    def group_states(self, states: Mapping[str, str | None]) -> dict[str, str]:
        return {
            group_id: aggregate(states.get(task_id) for task_id in task_ids)
            for group_id, task_ids in self.group_tasks.items()
        }


def aggregate(states: Iterable[str | None]) -> str:
    best = "none"
    best_rank = len(GROUP_PRIORITY)
    for state in states:
        rank = _RANK.get(state or "none", 0)
        if rank < best_rank:
            best, best_rank = state or "none", rank
    return best


def build(dag: SerializedDag) -> Structure:
    order = {task_id: index for index, task_id in enumerate(dag.topological_order())}
    groups = dag.task_groups
    inside: dict[str, tuple[str, ...]] = {}

    def members(group_id: str) -> tuple[str, ...]:
        if group_id not in inside:
            group = groups[group_id]
            found = list(group.task_ids)
            for child in group.group_ids:
                found.extend(members(child))
            inside[group_id] = tuple(sorted(found, key=lambda t: order.get(t, 0)))
        return inside[group_id]

    def first(group_id: str) -> int:
        ids = members(group_id)
        return min((order.get(t, 0) for t in ids), default=len(order))

    rows: list[Row] = []
    task_group: dict[str, str] = {}

    def walk(group_id: str, depth: int, parents: tuple[str, ...]) -> None:
        group = groups[group_id]
        children: list[tuple[int, str, str]] = [
            (order.get(t, 0), "task", t) for t in group.task_ids if t in dag.tasks
        ]
        children += [(first(g), "group", g) for g in group.group_ids if g in groups]
        prefix = f"{group_id}." if group_id != ROOT_GROUP_ID else ""
        for _, kind, child in sorted(children):
            label = child[len(prefix) :] if prefix and child.startswith(prefix) else child
            if kind == "task":
                task_group[child] = group_id
                label = dag.tasks[child].task_display_name or label
                rows.append(Row("task", child, label, depth, parents))
            else:
                label = groups[child].group_display_name or label
                rows.append(Row("group", child, label, depth, parents))
                walk(child, depth + 1, (*parents, child))

    if ROOT_GROUP_ID in groups:
        walk(ROOT_GROUP_ID, 0, ())
    else:
        for task_id in sorted(dag.tasks, key=lambda t: order.get(t, 0)):
            task_group[task_id] = ""
            label = dag.tasks[task_id].task_display_name or task_id
            rows.append(Row("task", task_id, label, 0, ()))
    group_tasks = {g: members(g) for g in groups if g != ROOT_GROUP_ID}
    return Structure(dag, tuple(rows), group_tasks, task_group)


class StructureCache:
    """Structures by serialized version (id and content hash, so that two metastores served
    by one process never share an entry), the ``size`` most recently used kept."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, str], Structure] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, serialized_id: int, dag_hash: str) -> Structure | None:
        key = (serialized_id, dag_hash)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        data = grid_store.serialized_data(session, serialized_id)
        if data is None:
            return None
        structure = build(deserialize_dag(data))
        with self._lock:
            self._items[key] = structure
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return structure


CACHE = StructureCache()


def latest(session: Session, dag_id: str) -> Structure | None:
    """The structure of the DAG's current serialized version."""
    found = grid_store.latest_serialized(session, dag_id)
    return CACHE.get(session, *found) if found is not None else None


_DISPLAY_NAMES: OrderedDict[tuple[int, str], str | None] = OrderedDict()
_DISPLAY_NAMES_SIZE = 4096
_DISPLAY_NAMES_LOCK = threading.Lock()


def display_names(session: Session, dag_ids: Sequence[str]) -> dict[str, str]:
    """The ``dag_display_name`` of each of these DAGs that has one (for the DAG list): read
    from the stored JSON once per serialized version."""
    names: dict[str, str] = {}
    for dag_id, key in grid_store.latest_serialized_many(session, dag_ids).items():
        with _DISPLAY_NAMES_LOCK:
            known = key in _DISPLAY_NAMES
            found = _DISPLAY_NAMES.get(key)
        if not known:
            data = grid_store.serialized_data(session, key[0]) or {}
            name = data.get("dag_display_name")
            found = name if isinstance(name, str) else None
            with _DISPLAY_NAMES_LOCK:
                _DISPLAY_NAMES[key] = found
                while len(_DISPLAY_NAMES) > _DISPLAY_NAMES_SIZE:
                    _DISPLAY_NAMES.popitem(last=False)
        if found:
            names[dag_id] = found
    return names
