"""The ``tradewind`` command line: a thin shell over the library.

Command groups are imported only when used, so ``tradewind --help`` stays fast and optional
stacks (celery, kubernetes) are never imported unless chosen.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tradewind.version import __version__

# command name -> "module:attribute" under tradewind.cli
COMMANDS: dict[str, str] = {
    "config": "config:config",
    "db": "db:db",
    "dags": "dagruns:dags",
    "dag-processor": "processor:dag_processor",
    "scheduler": "scheduler:scheduler",
    "standalone": "standalone:standalone",
    "tasks": "taskstates:tasks",
    "pools": "pools:pools",
    "variables": "variables:variables",
    "connections": "connections:connections",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"tradewind.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradewind")
def cli() -> None:
    """tradewind: a fast, light workflow orchestrator."""


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="tradewind")
