"""A click group whose commands are imported only when one is called.

The group holds an explicit table of command name -> ``"module:attribute"`` under
``tradewind.cli`` (a test checks that every entry resolves), so that ``tradewind tasks run``, the
start of every task try, imports only what running a try needs, and optional stacks (celery,
kubernetes) only when chosen. An import that fails is an error, never a missing command.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    """``lazy`` maps each command name to ``"module:attribute"`` under ``tradewind.cli``;
    ``summaries`` (optional) is what ``--help`` lists, so that listing imports no command."""

    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, str],
        summaries: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)
        self.summaries = dict(summaries) if summaries is not None else None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.summaries is None:
            super().format_commands(ctx, formatter)
            return
        rows = [(name, self.summaries.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"tradewind.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command
