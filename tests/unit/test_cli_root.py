"""The root command: every command is listed with a summary, and each one loads."""

from __future__ import annotations

import click
from click.testing import CliRunner

from tradewind.cli import COMMANDS, SUMMARIES, cli


def test_help_lists_every_command_with_a_summary() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert set(SUMMARIES) == set(COMMANDS)
    for name, summary in SUMMARIES.items():
        assert name in result.output
        assert summary in result.output


def test_every_listed_command_loads() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command)


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["nope"])
    assert result.exit_code == 2
    assert "No such command" in result.output
