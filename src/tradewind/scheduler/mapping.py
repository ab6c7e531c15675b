"""Expanding mapped tasks: once a mapped task may run, its one unexpanded instance becomes as
many instances as its input has items (inside the caller's transaction).

The number comes from the task's length expression (:mod:`tradewind.parsing.mapspec`) and
what its upstream tasks pushed: the length of a plain task's list or dict, or how many
instances of a mapped task pushed a value. The tasks of a mapped task group expand together,
so that instance i of each waits for instance i of the one before it. As in Airflow, an input
of no items skips the task, and one that was never pushed makes it upstream_failed; one longer
than ``core.max_map_length`` (or not a list or dict) fails it, saying why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun
from tradewind.metastore.store import mapping as map_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing import mapspec
from tradewind.parsing.serialized import SerializedDag, SerializedTask
from tradewind.states import TaskState

log = logging.getLogger(__name__)


def new_task(task: SerializedTask) -> task_store.NewTask:
    """The columns of the task's instances that come from its definition."""
    return task_store.NewTask(
        task_id=task.task_id,
        max_tries=task.retries,
        pool=task.pool,
        pool_slots=task.pool_slots,
        queue=task.queue,
        priority_weight=task.priority_weight_total,
        operator=task.custom_operator_name or task.operator,
        executor_config=task.executor_config,
    )


def expand_tasks(
    session: Session,
    run: DagRun,
    dag: SerializedDag,
    task_ids: Collection[str],
    *,
    max_length: int,
    now: datetime,
) -> dict[str, dict[int, TaskState]]:
    """Expand the mapped tasks ``task_ids`` (with their mapped groups' other tasks), or, for
    those expanded before and cleared since, revise their instances to what their input has
    now; returns the instance states of every task it expanded, revised or ended."""
    changed: dict[str, dict[int, TaskState]] = {}
    for task_id in sorted(task_ids):
        task = dag.tasks[task_id]
        if task_id in changed or task.mapping is None:
            continue
        try:
            count = mapspec.length(task.mapping["length"], _Lookup(session, run, dag))
        except mapspec.MapLengthError as exc:
            changed.update(_end(session, run, task, TaskState.FAILED, reason=str(exc), now=now))
            continue
        if count is not None and 0 < count <= max_length:
            for member in _members(dag, task):
                changed[member.task_id] = _expand(session, run, member, count, now)
            log.info("%s.%s in run %s: %d instances", run.dag_id, task_id, run.run_id, count)
            continue
        state, reason = _unexpandable(count, max_length)
        changed.update(_end(session, run, task, state, reason=reason, now=now))
    return changed


def _expand(
    session: Session, run: DagRun, task: SerializedTask, count: int, now: datetime
) -> dict[int, TaskState]:
    if map_store.expand(session, run.dag_id, run.run_id, new_task(task), count):
        return dict.fromkeys(range(count), TaskState.NONE)
    return map_store.revise(session, run.dag_id, run.run_id, new_task(task), count, now=now)


def _unexpandable(count: int | None, max_length: int) -> tuple[TaskState, str | None]:
    """How a mapped task whose input has ``count`` items (None: never pushed) ends instead."""
    if count is None:
        return TaskState.UPSTREAM_FAILED, "an upstream task did not push what it is mapped over"
    if count == 0:
        return TaskState.SKIPPED, None
    return (
        TaskState.FAILED,
        f"mapped over {count} items, more than core.max_map_length ({max_length}) allows",
    )


def _members(dag: SerializedDag, task: SerializedTask) -> list[SerializedTask]:
    """The tasks that expand with ``task``: its mapped group's, or itself alone."""
    group = task.mapped_group_id
    if group is None:
        return [task]
    return [t for t in dag.tasks.values() if t.mapped_group_id == group]


def _end(
    session: Session,
    run: DagRun,
    task: SerializedTask,
    state: TaskState,
    *,
    reason: str | None,
    now: datetime,
) -> dict[str, dict[int, TaskState]]:
    """The task cannot expand: its unexpanded instance (or its instances still to run, when
    it was expanded before) end in ``state``."""
    if reason is not None:
        log.info("%s.%s in run %s: %s: %s", run.dag_id, task.task_id, run.run_id, state, reason)
    if map_store.end_unexpanded(
        session, run.dag_id, run.run_id, task.task_id, state, reason=reason, now=now
    ):
        return {task.task_id: {-1: state}}
    found = map_store.instances(session, run.dag_id, run.run_id, task.task_id)
    waiting = [i for i, s in found.items() if s is TaskState.NONE]
    ended = task_store.set_states(
        session,
        run.dag_id,
        run.run_id,
        {task.task_id: state},
        expected=[TaskState.NONE],
        now=now,
        map_indexes=waiting,
    )
    found.update({index: state for _, index in ended})
    return {task.task_id: found}


class _Lookup:
    """The length of what an upstream task pushed in the run (see :data:`mapspec.Lookup`)."""

    def __init__(self, session: Session, run: DagRun, dag: SerializedDag) -> None:
        self.session = session
        self.run = run
        self.dag = dag

    def __call__(self, task_id: str, key: str) -> int | None:
        dag_id, run_id = self.run.dag_id, self.run.run_id
        upstream = self.dag.tasks.get(task_id)
        if upstream is not None and upstream.is_mapped:
            return xcom_store.count_mapped_xcoms(self.session, dag_id, run_id, task_id, key)
        value = map_store.pushed_value(self.session, dag_id, run_id, task_id, key)
        if value is map_store.NOT_PUSHED:
            return None
        if isinstance(value, list | dict):
            return len(value)
        raise mapspec.MapLengthError(
            f"task {task_id!r} pushed {type(value).__name__} under {key!r}: "
            "a mapped task expands over a list or a dict"
        )


# The largest value (as JSON text) handed to a mapped task's tries in their workloads; a larger
# one each try reads from the metastore itself (as it does one holding a secret).
HANDED_LIMIT = 64 << 10


class MapInputs:
    """What mapped tasks expand over, read once per queueing pass for all their tries: the
    values plain upstream tasks pushed, handed over in each try's workload so that a try
    starts without a metastore read (see ``Workload.xcoms``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._found: dict[tuple[str, str, str, str], list[Any] | None] = {}

    def handed(self, dag: SerializedDag, task: SerializedTask, run_id: str) -> list[list[Any]]:
        """``[[task_id, key, value], ...]`` for a try of ``task`` in the run."""
        if task.mapping is None:
            return []
        found = []
        for task_id, key in sorted(set(mapspec.sources(task.mapping["length"]))):
            upstream = dag.tasks.get(task_id)
            if upstream is None or upstream.is_mapped:
                continue  # a mapped task's values are read a few at a time, by the try
            entry = self._entry(dag.dag_id, run_id, task_id, key)
            if entry is not None:
                found.append(entry)
        return found

    def _entry(self, dag_id: str, run_id: str, task_id: str, key: str) -> list[Any] | None:
        at = (dag_id, run_id, task_id, key)
        if at not in self._found:
            pushed = xcom_store.pull_xcom(self.session, dag_id, run_id, task_id, key)
            # Pushed, holding no secret, and small enough.
            small = (
                pushed is not None
                and pushed[1] is None
                and len(json.dumps(pushed[0], default=str)) <= HANDED_LIMIT
            )
            self._found[at] = [task_id, key, pushed[0]] if small and pushed else None
        return self._found[at]
