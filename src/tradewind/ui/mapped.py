"""Mapped tasks as the pages show them: one grid cell per run that sums up the instances (the
cell's colour is the most telling of their states, as a task group's is), and the list of a
mapped task's instances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tradewind.metastore.store import grid as grid_store
from tradewind.ui import structure

Counts = Mapping[str | None, int]


def describe(counts: Counts) -> str:
    """``4 mapped instances: 2 success, 1 failed, 1 running`` (most telling state first)."""
    total = sum(counts.values())
    ranked = sorted(
        ((state or "none", n) for state, n in counts.items()),
        key=lambda item: (
            structure.GROUP_PRIORITY.index(item[0]) if item[0] in structure.GROUP_PRIORITY else 0
        ),
    )
    noun = "instance" if total == 1 else "instances"
    return f"{total} mapped {noun}: " + ", ".join(f"{n} {state}" for state, n in ranked)


def state_of(counts: Counts) -> str:
    """The state a mapped task's cell shows: the most telling of its instances' states."""
    return structure.aggregate(counts)


@dataclass
class RunStates:
    """The task states of runs as the grid shows them: a mapped task's summed up."""

    states: dict[str, dict[str, str | None]]  # run_id -> task_id -> state
    mapped: dict[str, dict[str, str]]  # run_id -> mapped task id -> its description


def run_states(session: Session, dag_id: str, run_ids: Sequence[str]) -> RunStates:
    states = grid_store.task_states(session, dag_id, run_ids)
    counts = grid_store.mapped_state_counts(session, dag_id, run_ids)
    mapped: dict[str, dict[str, str]] = {}
    for run_id, tasks in counts.items():
        column = states.setdefault(run_id, {})
        for task_id, by_state in tasks.items():
            column[task_id] = state_of(by_state)
            mapped.setdefault(run_id, {})[task_id] = describe(by_state)
    return RunStates(states, mapped)


def mapped_rows(shape: structure.Structure | None) -> set[str]:
    """The grid rows that are mapped: the keys of mapped tasks and mapped task groups."""
    if shape is None:
        return set()
    found = {task_id for task_id, task in shape.dag.tasks.items() if task.is_mapped}
    found |= {f"group:{g}" for g, group in shape.dag.task_groups.items() if group.is_mapped}
    return found


def instance_counts(found: Mapping[str, Counts]) -> dict[str, int]:
    """How many instances each mapped task has."""
    return {task_id: sum(by_state.values()) for task_id, by_state in found.items()}


def badges(shape: structure.Structure, counts: Mapping[str, int]) -> dict[str, str]:
    """The graph's marks of mapped tasks and mapped task groups, by node key (a task id, or
    ``group:<id>``): ``[n]``, the instances of the run shown; ``[ ]`` before expansion."""
    found = {}
    for key in mapped_rows(shape):
        if key.startswith("group:"):
            members = shape.group_tasks.get(key[len("group:") :], ())
            count = max((counts.get(t, 0) for t in members), default=0)
        else:
            count = counts.get(key, 0)
        found[key] = f"[{count}]" if count else "[ ]"
    return found
