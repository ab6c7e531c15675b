"""A click group whose commands are imported only when one is called.

The group holds an explicit table of command name -> ``"module:attribute"`` under
``tradewind.cli`` (a test checks that every entry resolves), so that ``tradewind tasks run``, the
start of every task try, imports only what running a try needs, and optional stacks (celery,
kubernetes) only when chosen. An import that fails is an error, never a missing command.
An unknown name is answered with the closest known one (click looks only at the commands it
has already loaded, which here are none).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping
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

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0])
        unknown = self.get_command(ctx, name) is None and not ctx.resilient_parsing
        if unknown and not name.startswith("-"):  # an option is left to click's own handling
            ctx.fail(unknown_command(name, self.list_commands(ctx)))
        return super().resolve_command(ctx, args)


def unknown_command(name: str, known: Iterable[str]) -> str:
    """ "No such command 'dag'. Did you mean 'dags'?" (the hint only when one is close)."""
    close = difflib.get_close_matches(name, list(known), n=3)
    message = f"No such command {name!r}."
    if len(close) == 1:
        return f"{message} Did you mean {close[0]!r}?"
    if close:
        return f"{message} Did you mean one of: {', '.join(repr(c) for c in close)}?"
    return message
