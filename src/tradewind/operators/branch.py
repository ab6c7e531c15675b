"""BaseBranchOperator: the parent of operators that choose which downstream tasks run.

A branch task returns the task id(s) to follow (or task group ids, whose first tasks are
followed); its other direct downstream tasks are skipped, and the scheduler skips what only
they lead to. :func:`follow_branches` is that rule, shared by every branching operator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tradewind.authoring.baseoperator import BaseOperator
from tradewind.exceptions import SkipDownstream, TaskError


def _as_task_ids(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, Iterable) and all(isinstance(item, str) for item in value):
        return set(value)
    raise TaskError(f"a branch must be a task id, a list of task ids or None, not {value!r}")


def follow_branches(task: BaseOperator, chosen: Any) -> Any:
    """Return ``chosen`` if every direct downstream task is followed; otherwise raise
    SkipDownstream for the others (carrying ``chosen`` as the XCom).

    ``chosen`` is a task id, a task group id, a list of them, or None (follow none).
    """
    follow: set[str] = set()
    dag = task._require_dag()
    for branch in _as_task_ids(chosen):
        group = dag.task_group_dict.get(branch)
        if group is not None:
            follow.update(root.task_id for root in group.roots)
        elif branch in task.downstream_task_ids:
            follow.add(branch)
        else:
            valid = ", ".join(sorted(task.downstream_task_ids)) or "none"
            raise TaskError(
                f"branch task {task.task_id!r} chose {branch!r}, which is not one of its "
                f"direct downstream tasks ({valid})"
            )
    skip = task.downstream_task_ids - follow
    if skip:
        raise SkipDownstream(skip, xcom_value=chosen)
    return chosen


class BaseBranchOperator(BaseOperator):
    """Subclasses implement ``choose_branch(context)``, returning the task id(s) to follow;
    the other direct downstream tasks are skipped."""

    ui_color = "#ffefeb"

    def choose_branch(self, context: Mapping[str, Any]) -> str | Iterable[str] | None:
        """The task id, task group id or list of them to follow (None: follow none)."""
        raise NotImplementedError(f"{type(self).__name__} must implement choose_branch(context)")

    def execute(self, context: Mapping[str, Any]) -> Any:
        return follow_branches(self, self.choose_branch(context))


def as_task_id_list(name: str, value: str | Iterable[str]) -> list[str]:
    """``follow_task_ids_if_true`` and the like: one task id or several, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        items = list(value)
        if all(isinstance(item, str) for item in items):
            return items
    raise ValueError(f"{name} must be a task id or a list of task ids, not {value!r}")
