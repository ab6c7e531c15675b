"""``tradewind tasks`` over mapped tasks: the state of one instance, a run's states with their map
indexes, clearing one instance, a list or a range."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result
from mapdata import mapped_run
from scheduling import System, make_system_fixture, system_fixture  # noqa: F401

Cli = Callable[..., Result]


def test_state_of_one_instance(system: System, tradewind_cli: Cli) -> None:
    run_id = mapped_run(system)
    for index, state in ((0, "success"), (1, "failed"), (3, "running")):
        result = tradewind_cli(
            system.settings, "tasks", "state", "mapped", "work", run_id, "-m", str(index)
        )
        assert result.exit_code == 0, result.output
        assert result.output.strip() == state
    whole = tradewind_cli(system.settings, "tasks", "state", "mapped", "work", run_id)
    assert whole.exit_code == 1
    assert "--map-index" in whole.output
    missing = tradewind_cli(
        system.settings, "tasks", "state", "mapped", "work", run_id, "--map-index", "9"
    )
    assert missing.exit_code == 1
    assert "work[9]" in missing.output
    plain = tradewind_cli(system.settings, "tasks", "state", "mapped", "start", run_id)
    assert plain.output.strip() == "success"


def test_states_for_dag_run_show_map_indexes(system: System, tradewind_cli: Cli) -> None:
    run_id = mapped_run(system, group=False)
    result = tradewind_cli(
        system.settings, "tasks", "states-for-dag-run", "mapped", run_id, "--output", "json"
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["task_id"], r["map_index"], r["state"]) for r in rows if r["task_id"] == "work"] == [
        ("work", 0, "success"),
        ("work", 1, "failed"),
        ("work", 2, "success"),
        ("work", 3, "running"),
    ]
    table = tradewind_cli(system.settings, "tasks", "states-for-dag-run", "mapped", run_id)
    assert "map_index" in table.output


def test_clear_instances_by_map_index(system: System, tradewind_cli: Cli) -> None:
    run_id = mapped_run(system, group=False)
    args = ("tasks", "clear", "mapped", run_id, "--yes", "-t", "work")
    one = tradewind_cli(system.settings, *args, "-m", "1")
    assert one.exit_code == 0, one.output
    assert "Cleared 1 task instances: work[1]" in one.output
    several = tradewind_cli(system.settings, *args, "--map-index", "0,2-3", "--downstream")
    assert several.exit_code == 0, several.output
    assert "work[0], work[2], work[3]" in several.output
    assert "end" in several.output
    states = {(ti.task_id, ti.map_index): ti.state for ti in system.instances("mapped", run_id)}
    assert states[("work", 0)] is None
    assert states[("work", 3)] == "restarting"
    assert states[("start", -1)] == "success"
    for bad in ("x", "3-1", "1-"):
        refused = tradewind_cli(system.settings, *args, "-m", bad)
        assert refused.exit_code == 2, refused.output
        assert "--map-index" in refused.output
    no_task = tradewind_cli(system.settings, "tasks", "clear", "mapped", run_id, "-y", "-m", "1")
    assert no_task.exit_code == 2
    unknown = tradewind_cli(
        system.settings, "tasks", "clear", "mapped", run_id, "-y", "-t", "zz", "-m", "1"
    )
    assert unknown.exit_code == 1
    assert "zz" in unknown.output
