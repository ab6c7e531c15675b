"""The scheduler's pure decisions about mapped tasks, and their length expressions."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tradewind import DAG
from tradewind.operators import EmptyOperator
from tradewind.parsing import mapspec
from tradewind.parsing.serialize import SerializedDag, deserialize_dag, serialize_dag
from tradewind.scheduler import decide
from tradewind.states import DagRunState, TaskState

S, F, K, U = TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED, TaskState.UPSTREAM_FAILED
N, RUN = TaskState.NONE, TaskState.RUNNING
PUSHED = mapspec.xcom("make", "return_value")


def _dag(
    edges: list[tuple[str, str]], mapped: dict[str, dict[str, Any]], **rules: str
) -> SerializedDag:
    """A serialized DAG of empty tasks with these edges, where ``mapped`` gives the mapping
    of some tasks (as the parser writes it) and ``rules`` their trigger rules."""
    with DAG("mapped", schedule=None) as dag:
        tasks = {
            t: EmptyOperator(task_id=t, trigger_rule=rules.get(t, "all_success"))
            for t in sorted({t for edge in edges for t in edge})
        }
        for up, down in edges:
            tasks[up] >> tasks[down]
    frozen = deserialize_dag(serialize_dag(dag))
    replaced = {
        t: dataclasses.replace(task, mapping=mapped[t]) if t in mapped else task
        for t, task in frozen.tasks.items()
    }
    return dataclasses.replace(frozen, tasks=replaced)


def test_a_mapped_task_whose_input_is_ready_is_expanded_not_scheduled() -> None:
    dag = _dag([("make", "each")], {"each": {"length": PUSHED, "group_id": None}})
    decisions = decide.decide_tasks(dag, {"make": {-1: S}, "each": {-1: N}}, ["each"])
    assert decisions.expand == {"each"}
    assert decisions.changes == {}
    waiting = decide.decide_tasks(dag, {"make": {-1: RUN}, "each": {-1: N}}, ["each"])
    assert waiting.expand == set()


def test_expanded_instances_are_scheduled_and_a_failed_input_fails_the_unexpanded_one() -> None:
    dag = _dag([("make", "each")], {"each": {"length": PUSHED, "group_id": None}})
    expanded = {"make": {-1: S}, "each": {0: N, 1: N, 2: S}}
    decisions = decide.decide_tasks(dag, expanded, ["each"])
    assert decisions.changes == {("each", 0): TaskState.SCHEDULED, ("each", 1): TaskState.SCHEDULED}
    failed = decide.decide_tasks(dag, {"make": {-1: F}, "each": {-1: N}}, ["each"])
    assert failed.changes == {("each", -1): U}
    assert failed.expand == set()


@pytest.mark.parametrize(
    ("rule", "instances", "expected"),
    [
        ("all_success", {0: S, 1: RUN, 2: S}, None),
        ("all_success", {0: S, 1: F, 2: RUN}, U),
        ("all_success", {0: S, 1: K, 2: S}, K),
        ("all_success", {0: S, 1: S, 2: S}, TaskState.SCHEDULED),
        ("one_success", {0: F, 1: S, 2: RUN}, TaskState.SCHEDULED),
        ("all_done", {0: F, 1: S, 2: RUN}, None),
        ("all_failed", {0: F, 1: F, 2: F}, TaskState.SCHEDULED),
    ],
)
def test_a_downstream_task_counts_every_mapped_instance(
    rule: str, instances: dict[int, TaskState], expected: TaskState | None
) -> None:
    dag = _dag(
        [("make", "each"), ("each", "after")],
        {"each": {"length": PUSHED, "group_id": None}},
        after=rule,
    )
    states = {"make": {-1: S}, "each": instances, "after": {-1: N}}
    changes = decide.decide_tasks(dag, states, ["after"]).changes
    assert changes == ({} if expected is None else {("after", -1): expected})


def test_in_a_mapped_group_instance_i_waits_for_instance_i_only() -> None:
    group = {"length": PUSHED, "group_id": "per_file"}
    dag = _dag(
        [("make", "first"), ("first", "second"), ("second", "after")],
        {"first": group, "second": group},
    )
    states = {
        "make": {-1: S},
        "first": {0: S, 1: RUN, 2: F},
        "second": {0: N, 1: N, 2: N},
        "after": {-1: N},
    }
    decisions = decide.decide_tasks(dag, states, ["second"])
    assert decisions.changes == {
        ("second", 0): TaskState.SCHEDULED,
        ("second", 2): U,
        # After the group, a task sees every instance of the group's last task.
        ("after", -1): U,
    }


def test_a_mapped_leaf_with_one_failed_instance_fails_the_run() -> None:
    dag = _dag([("make", "each")], {"each": {"length": PUSHED, "group_id": None}})
    assert decide.run_outcome(dag, {"make": {-1: S}, "each": {0: S, 1: RUN}}) is None
    assert decide.run_outcome(dag, {"make": {-1: S}, "each": {0: S, 1: F}}) is DagRunState.FAILED
    assert decide.run_outcome(dag, {"make": {-1: S}, "each": {0: S, 1: K}}) is DagRunState.SUCCESS
    assert decide.run_outcome(dag, {"make": {-1: S}, "each": {-1: K}}) is DagRunState.SUCCESS


def test_length_expressions() -> None:
    pushed = {("a", "return_value"): 3, ("b", "return_value"): 2, ("c", "x"): None}

    def lookup(task_id: str, key: str) -> int | None:
        return pushed[(task_id, key)]

    a, b, c = (
        mapspec.xcom("a", "return_value"),
        mapspec.xcom("b", "return_value"),
        mapspec.xcom("c", "x"),
    )
    assert mapspec.length(mapspec.literal(4), lookup) == 4
    assert mapspec.length({"product": [a, b, mapspec.literal(2)]}, lookup) == 12
    assert mapspec.length({"zip": [a, b]}, lookup) == 2
    assert mapspec.length({"zip": [a, b], "longest": True}, lookup) == 3
    assert mapspec.length({"concat": [a, b]}, lookup) == 5
    assert mapspec.length({"product": [a, c]}, lookup) is None
    assert sorted(mapspec.sources({"zip": [a, {"concat": [b, c]}]})) == [
        ("a", "return_value"),
        ("b", "return_value"),
        ("c", "x"),
    ]
    with pytest.raises(mapspec.MapLengthError):
        mapspec.length({"nonsense": 1}, lookup)


def test_a_mapped_task_cleared_whole_is_revised_before_it_runs_again() -> None:
    dag = _dag([("make", "each")], {"each": {"length": PUSHED, "group_id": None}})
    cleared = {"make": {-1: S}, "each": {0: N, 1: N}}
    assert decide.decide_tasks(dag, cleared, ["each"]).expand == {"each"}
    # Just expanded (or revised): its instances are scheduled.
    fresh = decide.decide_tasks(dag, cleared, ["each"], fresh={"each"})
    assert fresh.changes == {("each", 0): TaskState.SCHEDULED, ("each", 1): TaskState.SCHEDULED}
    # One instance cleared among finished ones runs again as it is.
    one = decide.decide_tasks(dag, {"make": {-1: S}, "each": {0: S, 1: N}}, ["each"])
    assert one.changes == {("each", 1): TaskState.SCHEDULED}
