"""The root command and the lazily loaded groups: every command is listed (with a summary
at the root), and every entry of their name -> module tables loads the command of that name."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from tradewind.cli import COMMANDS, SUMMARIES, cli
from tradewind.cli import dags as dags_cli
from tradewind.cli import tasks as tasks_cli


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


LAZY_GROUPS = [(tasks_cli.tasks, tasks_cli.COMMANDS), (dags_cli.dags, dags_cli.COMMANDS)]


@pytest.mark.parametrize(("group", "commands"), LAZY_GROUPS, ids=["tasks", "dags"])
def test_every_command_of_a_lazy_group_loads_under_its_name(
    group: click.Group, commands: dict[str, str]
) -> None:
    ctx = click.Context(group)
    for name in commands:
        command = group.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name


@pytest.mark.parametrize(("group", "commands"), LAZY_GROUPS, ids=["tasks", "dags"])
def test_a_lazy_group_s_help_lists_every_command(
    group: click.Group, commands: dict[str, str]
) -> None:
    result = CliRunner().invoke(cli, [str(group.name), "--help"])
    assert result.exit_code == 0
    for name in commands:
        assert name in result.output


def test_dags_group_holds_the_run_commands() -> None:
    expected = {"trigger", "state", "list-runs", "backfill", "test", "list", "show", "pause"}
    assert expected <= set(dags_cli.COMMANDS)


def test_dags_trigger_imports_neither_the_web_api_nor_the_scheduler_loop() -> None:
    """``dags trigger`` starts in scripts, between runs: it loads what triggering needs."""
    code = (
        "import sys\n"
        "from tradewind.cli import dags\n"
        "import click\n"
        "dags.dags.get_command(click.Context(dags.dags), 'trigger')\n"
        "heavy = ('fastapi', 'tradewind.api', 'tradewind.scheduler.loop')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["dag", "list"], "No such command 'dag'. Did you mean 'dags'?"),
        (["dags", "lst"], "No such command 'lst'. Did you mean 'list'?"),
        (["tasks", "rendr"], "No such command 'rendr'. Did you mean 'render'?"),
        (["config", "get-valu", "core", "x"], "Did you mean 'get-value'?"),
    ],
)
def test_an_unknown_command_names_the_closest_one(args: list[str], hint: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert hint in result.output
    assert "Traceback" not in result.output


def test_an_unknown_command_far_from_every_name_has_no_hint() -> None:
    result = CliRunner().invoke(cli, ["zzzz"])
    assert result.exit_code == 2
    assert "No such command 'zzzz'." in result.output
    assert "Did you mean" not in result.output
