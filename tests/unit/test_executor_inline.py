"""The in-process executor double and the scripted runner it is usually given."""

from __future__ import annotations

import threading

import pytest

from tradewind.executors.base import TaskEvent
from tradewind.reports import Kind, XCom
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.testing import InlineExecutor, make_workload


@pytest.fixture
def executor(settings: Settings) -> InlineExecutor:
    started = InlineExecutor(settings)
    started.start()
    return started


def finished(events: list[TaskEvent]) -> dict[str, TaskEvent]:
    return {e.key.task_id: e for e in events if e.kind == Kind.FINISHED}


def test_tries_run_in_poll_and_report_like_a_real_executor(executor: InlineExecutor) -> None:
    for task_id in ["ok_1", "fail_1", "raise_1", "exit_1"]:
        executor.submit(make_workload(task_id))

    events = executor.poll()

    outcome = {k: (e.state, e.info) for k, e in finished(events).items()}
    assert outcome == {
        "ok_1": (TaskState.SUCCESS, ""),
        "fail_1": (TaskState.FAILED, "the scripted task failed"),
        "raise_1": (TaskState.FAILED, "process exited with code 1"),
        "exit_1": (TaskState.FAILED, "process exited with code 3"),
    }
    assert finished(events)["ok_1"].report.xcoms == (XCom("return_value", "ok_1"),)
    assert [e.kind for e in events if e.key.task_id == "ok_1"] == [
        Kind.RUNNING,
        Kind.FINISHED,
    ]


def test_higher_priority_tries_run_first(executor: InlineExecutor) -> None:
    for task_id, weight in [("ok_a", 1), ("ok_b", 5), ("ok_c", 1)]:
        executor.submit(make_workload(task_id, priority_weight=weight))

    events = executor.poll()

    assert [e.key.task_id for e in events if e.kind == Kind.RUNNING] == [
        "ok_b",
        "ok_a",
        "ok_c",
    ]


def test_a_cancelled_queued_try_never_runs(executor: InlineExecutor) -> None:
    workload = make_workload("ok_1")
    executor.submit(workload)

    executor.cancel(workload.key)
    events = executor.poll()

    assert [(e.kind, e.state, e.info) for e in events] == [
        (Kind.FINISHED, TaskState.FAILED, "cancelled")
    ]


def test_free_slots_shrink_with_the_queue(settings: Settings) -> None:
    executor = InlineExecutor(settings, parallelism=2)
    executor.start()
    executor.submit(make_workload("ok_1"))

    assert executor.free_slots == 1
    executor.poll()
    assert executor.free_slots == 2


@pytest.mark.timeout(30)
def test_wakeup_ends_an_idle_poll(executor: InlineExecutor) -> None:
    waker = threading.Timer(0.05, executor.wakeup)
    waker.start()

    assert executor.poll(None) == []
    waker.join()
