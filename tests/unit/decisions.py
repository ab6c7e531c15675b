"""Helpers for tests of the scheduler's decisions about DAGs without mapped tasks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tradewind.parsing.serialize import SerializedDag
from tradewind.scheduler import decide
from tradewind.states import TaskState


def plain(states: Mapping[str, TaskState]) -> dict[str, dict[int, TaskState]]:
    """A run's states where every task has its one instance."""
    return {task_id: {-1: state} for task_id, state in states.items()}


def decide_plain(
    dag: SerializedDag, states: Mapping[str, TaskState], candidates: Iterable[str], **options: Any
) -> dict[str, TaskState]:
    """:func:`decide.decide_tasks` for tasks of one instance each: new states by task id."""
    decisions = decide.decide_tasks(dag, plain(states), candidates, **options)
    assert not decisions.expand
    return {task_id: state for (task_id, _), state in decisions.changes.items()}
