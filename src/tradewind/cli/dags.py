"""``tradewind dags``: the group, whose commands load only when called.

``dags trigger`` runs in scripts and between runs: it imports what triggering needs, not the
web API's modules that ``dags details`` uses nor the scheduler that ``dags test`` drives.
"""

from __future__ import annotations

import click

from tradewind.cli._lazy import LazyGroup

# command name -> "module:attribute" under tradewind.cli
COMMANDS: dict[str, str] = {
    "list": "daglist:list_",
    "list-import-errors": "daglist:list_import_errors",
    "pause": "daglist:pause",
    "unpause": "daglist:unpause",
    "next-execution": "daglist:next_execution",
    "reserialize": "daglist:reserialize",
    "trigger": "dagruns:trigger",
    "state": "dagruns:state",
    "list-runs": "dagruns:list_runs",
    "backfill": "dagdrive:backfill",
    "test": "dagdrive:test_",
    "show": "dagshow:show",
    "details": "daginfo:details",
    "delete": "daginfo:delete",
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def dags() -> None:
    """List, inspect, pause and re-parse DAGs."""
