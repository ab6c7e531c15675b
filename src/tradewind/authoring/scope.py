"""The DAG and task group that ``with`` blocks have made current, per execution context.

Context variables (not module globals) hold the stacks, so threads, asyncio tasks and nested
captures never see each other's open ``with DAG(...)`` blocks.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradewind.authoring.dag import DAG
    from tradewind.authoring.task_group import TaskGroup

_dags: contextvars.ContextVar[tuple[DAG, ...]] = contextvars.ContextVar(
    "tradewind_dags", default=()
)
_groups: contextvars.ContextVar[tuple[TaskGroup, ...]] = contextvars.ContextVar(
    "tradewind_task_groups", default=()
)


def current_dag() -> DAG | None:
    """The DAG of the innermost open ``with DAG(...)`` block, if any."""
    stack = _dags.get()
    return stack[-1] if stack else None


def current_group(dag: DAG | None) -> TaskGroup | None:
    """The innermost open task group that belongs to ``dag``, if any."""
    for group in reversed(_groups.get()):
        if group.dag is dag:
            return group
    return None


def push_dag(dag: DAG) -> None:
    _dags.set((*_dags.get(), dag))


def pop_dag(dag: DAG) -> None:
    stack = _dags.get()
    if stack and stack[-1] is dag:
        _dags.set(stack[:-1])


def push_group(group: TaskGroup) -> None:
    _groups.set((*_groups.get(), group))


def pop_group(group: TaskGroup) -> None:
    stack = _groups.get()
    if stack and stack[-1] is group:
        _groups.set(stack[:-1])
