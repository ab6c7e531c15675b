"""``tradewind tasks``: the group, whose commands load only when called.

``tasks run`` is how every task try starts (a subprocess, a forked child's sibling, a pod), so it
imports only what running a try needs: not what listing, clearing or testing tasks does.
"""

from __future__ import annotations

import click

from tradewind.cli._lazy import LazyGroup

# command name -> "module:attribute" under tradewind.cli
COMMANDS: dict[str, str] = {
    "run": "taskrun:run",
    "test": "tasktest:test",
    "list": "taskstates:list_",
    "state": "taskstates:state",
    "states-for-dag-run": "taskstates:states_for_dag_run",
    "clear": "taskstates:clear",
    "render": "taskrender:render",
    "logs": "trylogs:logs",
    "failed-deps": "failedeps:failed_deps",
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def tasks() -> None:
    """Run, test, render and inspect task instances and their logs."""
