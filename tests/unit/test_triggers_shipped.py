"""The shipped triggers: each one's run() against real time, real files and a run-state
lookup, and their arguments through the JSON encoding the triggerer rebuilds them from."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest

from tradewind.states import TaskState
from tradewind.triggers import runstates, serde
from tradewind.triggers.base import (
    BaseEventTrigger,
    BaseTrigger,
    TaskSuccessEvent,
    TriggerEvent,
    build_trigger,
    task_end_state,
)
from tradewind.triggers.external_task import DagStateTrigger, WorkflowTrigger
from tradewind.triggers.file import FileDeleteTrigger, FileTrigger
from tradewind.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

UTC = dt.UTC
DAY = dt.datetime(2024, 1, 1, tzinfo=UTC)


def _first(trigger: BaseTrigger) -> TriggerEvent:
    async def first() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def _travelled(trigger: BaseTrigger) -> BaseTrigger:
    """The trigger as the triggerer builds it from what the deferring task stored."""
    classpath, kwargs = trigger.serialize()
    return build_trigger(classpath, serde.decode(serde.encode(kwargs)))


def test_date_time_trigger_fires_with_its_moment_once_it_has_passed() -> None:
    moment = dt.datetime.now(UTC) + dt.timedelta(milliseconds=50)
    trigger = _travelled(DateTimeTrigger(moment))
    event = _first(trigger)
    assert event.payload == moment
    assert task_end_state(event) is None
    assert dt.datetime.now(UTC) >= moment


def test_date_time_trigger_can_end_the_task_itself() -> None:
    trigger = _travelled(DateTimeTrigger(dt.datetime.now(UTC), end_from_trigger=True))
    event = _first(trigger)
    assert isinstance(event, TaskSuccessEvent)
    assert task_end_state(event) is TaskState.SUCCESS


def test_date_time_trigger_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        DateTimeTrigger(dt.datetime(2024, 1, 1))
    with pytest.raises(TypeError, match="must be a datetime"):
        DateTimeTrigger("2024-01-01")  # type: ignore[arg-type]


def test_time_delta_trigger_waits_its_delta_and_travels_as_a_moment() -> None:
    trigger = TimeDeltaTrigger(dt.timedelta(milliseconds=30))
    travelled = _travelled(trigger)
    assert type(travelled) is DateTimeTrigger
    assert travelled.serialize() == trigger.serialize()
    assert _first(travelled).payload == trigger.moment


def test_file_trigger_fires_when_the_file_appears(tmp_path: Path) -> None:
    target = tmp_path / "in" / "data.csv"
    trigger = _travelled(FileTrigger(str(tmp_path / "in" / "*.csv"), poke_interval=0.01))

    async def scenario() -> TriggerEvent:
        waiting = asyncio.ensure_future(_next(trigger))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        target.parent.mkdir()
        target.write_text("a,b\n")
        return await waiting

    assert asyncio.run(scenario()).payload is True


async def _next(trigger: BaseTrigger) -> TriggerEvent:
    async for event in trigger.run():
        return event
    raise AssertionError("no event")


def test_file_trigger_finds_files_in_folders_and_recursive_globs(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text("x")
    assert _first(FileTrigger(str(tmp_path / "a"), poke_interval=0.01)).payload is True
    found = FileTrigger(str(tmp_path / "**" / "deep.txt"), recursive=True, poke_interval=0.01)
    assert _first(found).payload is True


def test_file_delete_trigger_fires_once_per_file_and_removes_it(tmp_path: Path) -> None:
    target = tmp_path / "inbox.csv"
    trigger = _travelled(FileDeleteTrigger(str(target), poke_interval=0.01))
    assert isinstance(trigger, BaseEventTrigger)
    assert trigger.watcher_json() == {
        "classpath": "tradewind.triggers.file.FileDeleteTrigger",
        "kwargs": {"filepath": str(target), "poke_interval": 0.01},
    }
    target.write_text("a,b\n")
    assert _first(trigger).payload is True
    assert not target.exists()
    # Started again (as a watcher is), it waits for the next file.

    async def scenario() -> TriggerEvent:
        waiting = asyncio.ensure_future(_next(trigger))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        target.write_text("c,d\n")
        return await waiting

    assert asyncio.run(scenario()).payload is True
    assert not target.exists()


def test_file_trigger_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        FileTrigger("/tmp/x", poke_interval=0)
    with pytest.raises(TypeError, match="path or glob"):
        FileTrigger(None)  # type: ignore[arg-type]


class Lookup:
    """A run-state lookup whose answers the test changes as it goes."""

    def __init__(self, runs: dict[str, str], tasks: dict[str, str | None]) -> None:
        self.runs = runs
        self.tasks = tasks
        self.asked = 0

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        return {"extract": "group", "load": "group.inner", "report": None}

    def run_states(self, dag_id: str, logical_dates: Collection[dt.datetime]) -> list[str]:
        self.asked += 1
        return [self.runs[d.isoformat()] for d in logical_dates if d.isoformat() in self.runs]

    def task_states(
        self, dag_id: str, logical_dates: Collection[dt.datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        self.asked += 1
        return [self.tasks.get(t) for _ in logical_dates for t in task_ids]

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        self.asked += 1
        return self.runs.get(run_id)


def _with(lookup: Lookup, trigger: BaseTrigger) -> Any:
    with runstates.installed(lookup):
        return _first(_travelled(trigger)).payload


def test_workflow_trigger_waits_until_the_tasks_are_allowed() -> None:
    lookup = Lookup({}, {"extract": "running", "load": "success"})
    trigger = WorkflowTrigger(
        "other", logical_dates=[DAY], external_task_ids=["extract", "load"], poke_interval=0.01
    )

    async def scenario() -> TriggerEvent:
        waiting = asyncio.ensure_future(_next(_travelled(trigger)))
        while lookup.asked < 2:
            await asyncio.sleep(0.01)
        lookup.tasks["extract"] = "success"
        return await waiting

    with runstates.installed(lookup):
        assert asyncio.run(scenario()).payload == {"status": "success"}


def test_workflow_trigger_reports_failed_and_skipped_states() -> None:
    failing = WorkflowTrigger(
        "other",
        logical_dates=[DAY],
        external_task_group_id="group",
        failed_states=["failed"],
        skipped_states=["skipped"],
    )
    assert _with(Lookup({}, {"extract": "success", "load": "failed"}), failing) == {
        "status": "failed"
    }
    assert _with(Lookup({}, {"extract": "skipped", "load": "running"}), failing) == {
        "status": "skipped"
    }
    whole_run = WorkflowTrigger("other", execution_dates=[DAY])
    assert _with(Lookup({DAY.isoformat(): "success"}, {}), whole_run) == {"status": "success"}


def test_dag_state_trigger_fires_when_every_run_is_in_a_state() -> None:
    trigger = DagStateTrigger("other", ["success", "failed"], run_ids=["r1", "r2"])
    payload = _with(Lookup({"r1": "success", "r2": "failed"}, {}), trigger)
    assert payload[0] == "tradewind.triggers.external_task.DagStateTrigger"
    assert payload[1]["run_ids"] == ["r1", "r2"]


def test_run_state_triggers_say_they_need_the_triggerer() -> None:
    trigger = DagStateTrigger("other", ["success"], logical_dates=[DAY])
    with pytest.raises(runstates.RunStatesUnavailable, match="only the triggerer"):
        _first(trigger)


def test_run_state_triggers_check_their_arguments() -> None:
    with pytest.raises(ValueError, match="logical_dates"):
        WorkflowTrigger("other")
    with pytest.raises(ValueError, match="aware"):
        DagStateTrigger("other", ["success"], logical_dates=[dt.datetime(2024, 1, 1)])
    with pytest.raises(TypeError, match="list"):
        DagStateTrigger("other", "success", run_ids=["r"])
