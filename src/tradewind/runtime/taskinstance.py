"""``ti`` in the context: which try this is, and its XCom pushes and pulls.

What a task pushes is collected here and sent with the try's outcome, because the scheduler
is the only writer of the metastore.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tradewind import limits
from tradewind.authoring.mapped import is_mapped
from tradewind.authoring.task_group import mapped_group_of
from tradewind.authoring.xcom_arg import LazySequence
from tradewind.exceptions import TradewindError
from tradewind.workloads import TaskKey

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.runtime.context import Source

RETURN_VALUE_KEY = "return_value"
# The longest XCom key the metastore stores (its column's length).
MAX_KEY_LENGTH = 512


class XComValueError(TradewindError, TypeError):
    """A value pushed as an XCom is not plain JSON."""


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


# How many values a lazy sequence of a mapped task's values reads at a time.
BATCH_SIZE = 100


class LazyXComSequence(LazySequence):
    """What a mapped task's instances pushed under ``key``, in map-index order, read from the
    metastore as it is used: ``len()`` counts, indexing reads one value, iterating reads
    :data:`BATCH_SIZE` at a time (Airflow's LazyXComSequence)."""

    def __init__(self, source: Source, dag_id: str, run_id: str, task_id: str, key: str):
        self._source = source
        self._where = (dag_id, run_id, task_id, key)
        self._size: int | None = None

    def __len__(self) -> int:
        if self._size is None:
            self._size = self._source.xcom_count(*self._where)
        return self._size

    def item(self, position: int) -> Any:
        found = self._source.xcom_values(*self._where, offset=position, limit=1)
        if not found:
            raise IndexError(position)
        return found[0]

    def __iter__(self) -> Iterator[Any]:
        offset = 0
        while True:
            batch = self._source.xcom_values(*self._where, offset=offset, limit=BATCH_SIZE)
            yield from batch
            if len(batch) < BATCH_SIZE:
                return
            offset += len(batch)

    def __repr__(self) -> str:
        return f"LazyXComSequence({self._where[2]!r}, key={self._where[3]!r})"


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
        max_map_length: int | None = None,
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
        # The most items a value that a mapped task expands over may hold (None: no limit).
        self.max_map_length = max_map_length
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
        map_indexes: int | Iterable[int] | None = None,
        default: Any = None,
    ) -> Any:
        """The value a task pushed in this run (a list of values for a list of task ids).

        ``task_ids=None`` takes the latest value pushed under ``key`` by any task. Of a mapped
        task (without ``map_indexes``): its instances' values as a lazy sequence in map-index
        order, or, from inside the same mapped task group, this instance's own value (as in
        Airflow 2). ``map_indexes`` picks one instance's value (a list of them for several).
        """
        if map_indexes is not None and not isinstance(map_indexes, int):
            return [self.xcom_pull(task_ids, key, dag_id, index, default) for index in map_indexes]
        if task_ids is None or isinstance(task_ids, str):
            return self._pull_one(task_ids, key, dag_id, map_indexes, default)
        return [self._pull_one(t, key, dag_id, map_indexes, default) for t in task_ids]

    def _pull_one(
        self, task_id: str | None, key: str, dag_id: str | None, map_index: int | None, default: Any
    ) -> Any:
        own = dag_id in (None, self.dag_id) and task_id == self.task_id
        if own and key in self.pushed:
            return self.pushed[key]
        if map_index is None and task_id is not None and dag_id in (None, self.dag_id):
            pulled = self._task(task_id)
            if pulled is not None and is_mapped(pulled):
                group = mapped_group_of(pulled.task_group)
                if group is not None and group is mapped_group_of(self.task.task_group):
                    map_index = self.map_index
                else:
                    return LazyXComSequence(self._source, self.dag_id, self.run_id, task_id, key)
        value = self._source.xcom(
            dag_id or self.dag_id, self.run_id, task_id, key, -1 if map_index is None else map_index
        )
        return default if value is None else value

    def _task(self, task_id: str) -> BaseOperator | None:
        dag = self.task.dag
        return None if dag is None else dag.task_dict.get(task_id)

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.key}>"
