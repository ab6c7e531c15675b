"""Clearing and marking instances of mapped tasks, on every dialect: one, several, all."""

from __future__ import annotations

from datetime import UTC, datetime

from mapdata import mapped_run
from scheduling import System, make_system_fixture, system_fixture  # noqa: F401

from tradewind.scheduler import marking
from tradewind.scheduler.operations import Scope, clear_instances
from tradewind.states import TaskState

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def states(system: System, run_id: str) -> dict[tuple[str, int], str | None]:
    return {(ti.task_id, ti.map_index): ti.state for ti in system.instances("mapped", run_id)}


def test_clear_one_instance_leaves_the_others(system: System) -> None:
    run_id = mapped_run(system)
    with system.sessions.begin() as session:
        cleared = clear_instances(session, "mapped", run_id, [("work", 1)], now=NOW)
    assert [(ti.task_id, ti.map_index, ti.state) for ti in cleared] == [("work", 1, None)]
    after = states(system, run_id)
    assert after[("work", 0)] == "success"
    assert after[("work", 1)] is None
    assert after[("work", 2)] == "success"
    assert after[("work", 3)] == "running"
    assert after[("end", -1)] == "upstream_failed"
    # The cleared instance keeps its try number: its next try is its second.
    (one,) = [
        ti for ti in system.instances("mapped", run_id) if (ti.task_id, ti.map_index) == ("work", 1)
    ]
    assert one.try_number == 1


def test_clear_a_list_with_downstream_follows_the_graph(system: System) -> None:
    run_id = mapped_run(system)
    with system.sessions.begin() as session:
        cleared = clear_instances(
            session,
            "mapped",
            run_id,
            [("work", 0), ("work", 2)],
            scope=Scope(downstream=True),
            dry_run=True,
            now=NOW,
        )
    assert sorted((ti.task_id, ti.map_index) for ti in cleared) == [
        ("end", -1),
        ("work", 0),
        ("work", 2),
    ]
    assert states(system, run_id)[("work", 0)] == "success"  # a dry run changes nothing
    with system.sessions.begin() as session:
        clear_instances(
            session, "mapped", run_id, [("grp.one", 2)], scope=Scope(downstream=True), now=NOW
        )
    after = states(system, run_id)
    # Instance 2 of the group's downstream task goes with instance 2 of its upstream one.
    assert [after[("grp.two", i)] for i in range(3)] == ["success", "success", None]
    assert [after[("grp.one", i)] for i in range(3)] == ["success", "success", None]


def test_clear_all_instances_and_only_failed(system: System) -> None:
    run_id = mapped_run(system)
    with system.sessions.begin() as session:
        failed = clear_instances(session, "mapped", run_id, ["work"], only_failed=True, now=NOW)
    assert [(ti.task_id, ti.map_index) for ti in failed] == [("work", 1)]
    with system.sessions.begin() as session:
        clear_instances(session, "mapped", run_id, ["work"], now=NOW)
    after = states(system, run_id)
    # Every instance runs again; the running one first stops its try (restarting).
    assert [after[("work", i)] for i in range(4)] == [None, None, None, "restarting"]
    assert after[("start", -1)] == "success"


def test_mark_one_instance_and_all(system: System) -> None:
    run_id = mapped_run(system)
    with system.sessions.begin() as session:
        marked = marking.mark_tasks(
            session, "mapped", run_id, [("work", 1)], TaskState.SUCCESS, now=NOW
        )
    assert [(ti.task_id, ti.map_index, ti.state) for ti in marked] == [("work", 1, "success")]
    after = states(system, run_id)
    assert after[("work", 3)] == "running"
    # As for plain tasks, marking success resumes the failed tasks downstream.
    assert after[("end", -1)] is None
    with system.sessions.begin() as session:
        marked = marking.mark_tasks(session, "mapped", run_id, ["work"], TaskState.FAILED, now=NOW)
    assert sorted(ti.map_index for ti in marked) == [0, 1, 2, 3]
    assert {after for key, after in states(system, run_id).items() if key[0] == "work"} == {
        "failed"
    }
