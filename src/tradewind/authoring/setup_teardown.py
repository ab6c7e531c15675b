"""Setup and teardown tasks, as in Airflow: a setup creates a resource, work uses it, and its
teardown removes it whatever happened to the work.

A teardown runs once all its upstream tasks are done if one of its setups succeeded (its trigger
rule is ``all_done_setup_success``); it is skipped when its setups were. Its own failure does not
fail the run unless it has ``on_failure_fail_dagrun``. Clearing a task also clears the setups it
depends on and their teardowns. The scheduler's side is in :mod:`tradewind.scheduler.decide` and
:mod:`tradewind.scheduler.operations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tradewind.authoring.dependencies import DependencyMixin, as_nodes
from tradewind.authoring.rules import TriggerRule

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator


def mark_setup(task: BaseOperator) -> None:
    """Make ``task`` a setup task; a teardown cannot also be a setup."""
    if task.is_teardown:
        raise task._error(f"task {task.task_id!r} is a teardown; it cannot also be a setup")
    task.is_setup = True


def mark_teardown(
    task: BaseOperator,
    setups: DependencyMixin | Sequence[DependencyMixin] | None,
    on_failure_fail_dagrun: bool | None,
) -> None:
    """Make ``task`` a teardown task, downstream of ``setups`` (marked as setups)."""
    if task.is_setup:
        raise task._error(f"task {task.task_id!r} is a setup; it cannot also be a teardown")
    task.is_teardown = True
    task.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
    if on_failure_fail_dagrun is not None:
        task.on_failure_fail_dagrun = bool(on_failure_fail_dagrun)
    if setups is None:
        return
    for node in as_nodes(setups):
        for setup in node.leaves:
            mark_setup(setup)
            setup.add_downstream_task(task)
