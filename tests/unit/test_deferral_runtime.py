"""Deferring a task: defer() and TaskDeferred, what a deferred try reports, how a resumed
try goes on (its method, its event, a failure from the triggerer), and start_from_trigger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradewind import DAG
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.exceptions import TaskDeferralError, TaskDeferralTimeout, TaskDeferred
from tradewind.runtime import context as context_module
from tradewind.runtime import execute
from tradewind.states import TaskState
from tradewind.testing import EmptySource
from tradewind.triggers import serde
from tradewind.triggers.base import BaseTrigger, StartTriggerArgs, TriggerEvent
from tradewind.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger
from tradewind.workloads import TaskKey

LOGICAL = datetime(2024, 1, 1, tzinfo=UTC)
MOMENT = datetime(2030, 1, 1, tzinfo=UTC)


class Unbuildable(BaseTrigger):
    """Its serialize() leaves out an argument its constructor needs."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.Unbuildable", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(None)


class Waits(BaseOperator):
    """Pushes a note, defers on a DateTimeTrigger, and resumes (deferring ``hops`` times)."""

    def __init__(self, *, hops: int = 1, trigger: BaseTrigger | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.hops = hops
        self.trigger = trigger

    def execute(self, context: Mapping[str, Any]) -> Any:
        context["ti"].xcom_push("note", "before deferring")
        self.defer(
            trigger=self.trigger or DateTimeTrigger(MOMENT),
            method_name="resume",
            kwargs={"hop": 1, "since": LOGICAL},
            timeout=90,
        )

    def resume(self, context: Mapping[str, Any], hop: int, since: datetime, event: Any) -> Any:
        if hop < self.hops:
            self.defer(
                trigger=DateTimeTrigger(MOMENT),
                method_name="resume",
                kwargs={"hop": hop + 1, "since": since},
            )
        return {"hop": hop, "since": since.isoformat(), "event": event.isoformat()}


class StartsInTrigger(BaseOperator):
    start_trigger_args = StartTriggerArgs(
        trigger_cls="tradewind.triggers.temporal.DateTimeTrigger",
        trigger_kwargs={"moment": MOMENT},
        next_method="done",
        next_kwargs={"label": "x"},
        timeout=timedelta(minutes=5),
    )
    start_from_trigger = True

    def execute(self, context: Mapping[str, Any]) -> Any:
        raise AssertionError("execute() must not run when the task starts from its trigger")

    def done(self, context: Mapping[str, Any], label: str, event: Any) -> str:
        return label


def _run(task: BaseOperator, **resume: Any) -> execute.Outcome:
    dag = task.dag
    assert dag is not None
    run = context_module.DagRunView("d", "r", LOGICAL, LOGICAL, LOGICAL)
    ti = context_module.TaskInstanceView(
        TaskKey("d", "r", task.task_id), task, EmptySource(), hostname="h", pid=1
    )
    context = context_module.build_context(dag, task, run, ti, EmptySource())
    return execute.execute_task(task, context, ti, None, **resume)


def _event_kwargs(method_kwargs: Mapping[str, Any] | None, payload: Any) -> dict[str, Any]:
    """next_kwargs as the triggerer stores them once the trigger fired."""
    return {**(method_kwargs or {}), "event": serde.encode(payload)}


def test_defer_raises_task_deferred_with_what_it_was_given() -> None:
    with DAG("d"):
        task = Waits(task_id="w")
    trigger = DateTimeTrigger(MOMENT)
    with pytest.raises(TaskDeferred) as caught:
        task.defer(trigger=trigger, method_name="resume", kwargs={"a": 1}, timeout=30)
    assert caught.value.trigger is trigger
    assert caught.value.method_name == "resume"
    assert caught.value.kwargs == {"a": 1}
    assert caught.value.timeout == timedelta(seconds=30)
    # Not an Exception: a task's `except Exception` does not swallow it.
    assert not isinstance(caught.value, Exception)
    with pytest.raises(TypeError, match="timedelta or seconds"):
        TaskDeferred(trigger=trigger, method_name="m", timeout="soon")  # type: ignore[arg-type]


def test_a_deferred_try_reports_its_trigger_encoded_with_the_xcoms_pushed_so_far() -> None:
    with DAG("d"):
        task = Waits(task_id="w")
    outcome = _run(task)
    assert outcome.state is TaskState.DEFERRED
    assert outcome.xcoms == [("note", "before deferring")]
    message = outcome.message()
    assert message["state"] == "deferred"
    assert message["deferral"] == {
        "classpath": "tradewind.triggers.temporal.DateTimeTrigger",
        "kwargs": {"moment": serde.encode(MOMENT), "end_from_trigger": False},
        "method": "resume",
        "method_kwargs": {"hop": 1, "since": serde.encode(LOGICAL)},
        "timeout": 90.0,
    }
    assert message["xcoms"] == [["note", "before deferring"]]


def test_a_resumed_try_calls_its_method_with_the_event_and_the_kwargs() -> None:
    with DAG("d"):
        task = Waits(task_id="w")
    deferred = _run(task)
    assert deferred.deferral is not None
    outcome = _run(
        task,
        next_method="resume",
        next_kwargs=_event_kwargs(deferred.deferral.method_kwargs, MOMENT),
    )
    assert outcome.state is TaskState.SUCCESS
    assert outcome.return_value == {
        "hop": 1,
        "since": LOGICAL.isoformat(),
        "event": MOMENT.isoformat(),
    }


def test_a_resumed_method_may_defer_again() -> None:
    with DAG("d"):
        task = Waits(task_id="w", hops=2)
    first = _run(task)
    assert first.deferral is not None
    second = _run(
        task, next_method="resume", next_kwargs=_event_kwargs(first.deferral.method_kwargs, MOMENT)
    )
    assert second.state is TaskState.DEFERRED
    assert second.deferral is not None
    assert serde.decode(second.deferral.method_kwargs)["hop"] == 2
    third = _run(
        task, next_method="resume", next_kwargs=_event_kwargs(second.deferral.method_kwargs, MOMENT)
    )
    assert third.state is TaskState.SUCCESS
    assert third.return_value["hop"] == 2


def test_a_failure_from_the_triggerer_fails_the_try_retryably() -> None:
    with DAG("d"):
        task = Waits(task_id="w")
    outcome = _run(task, next_method="__fail__", next_kwargs={"error": "DateTimeTrigger: boom"})
    assert outcome.state is TaskState.FAILED
    assert outcome.retryable
    assert isinstance(outcome.exception, TaskDeferralError)
    assert outcome.error == "DateTimeTrigger: boom"
    timed_out = _run(
        task, next_method="__fail__", next_kwargs={"error": "trigger timeout", "timeout": True}
    )
    assert isinstance(timed_out.exception, TaskDeferralTimeout)
    assert timed_out.retryable


def test_resuming_in_a_method_the_operator_lacks_fails_clearly() -> None:
    with DAG("d"):
        task = Waits(task_id="w")
    outcome = _run(task, next_method="nope", next_kwargs={"event": None})
    assert outcome.state is TaskState.FAILED
    assert "Waits has no method 'nope'" in (outcome.error or "")


def test_a_trigger_that_cannot_be_rebuilt_fails_the_try_before_it_defers() -> None:
    with DAG("d"):
        task = Waits(task_id="w", trigger=Unbuildable(3))
    outcome = _run(task)
    assert outcome.state is TaskState.FAILED
    assert "cannot be built again from its serialize() arguments" in (outcome.error or "")
    assert "size" in (outcome.error or "")


def test_kwargs_that_cannot_be_stored_fail_the_try_naming_them() -> None:
    class Odd(BaseOperator):
        def execute(self, context: Mapping[str, Any]) -> Any:
            self.defer(
                trigger=TimeDeltaTrigger(timedelta(1)), method_name="m", kwargs={"handle": object()}
            )

    with DAG("d"):
        task = Odd(task_id="o")
    outcome = _run(task)
    assert outcome.state is TaskState.FAILED
    assert "the kwargs for m() cannot be stored" in (outcome.error or "")


def test_defer_needs_a_trigger() -> None:
    class NotATrigger(BaseOperator):
        def execute(self, context: Mapping[str, Any]) -> Any:
            self.defer(trigger="in an hour", method_name="m")

    with DAG("d"):
        task = NotATrigger(task_id="n")
    outcome = _run(task)
    assert outcome.state is TaskState.FAILED
    assert "needs a trigger (a BaseTrigger), not str" in (outcome.error or "")


def test_start_from_trigger_defers_without_running_execute() -> None:
    with DAG("d"):
        task = StartsInTrigger(task_id="s")
    outcome = _run(task)
    assert outcome.state is TaskState.DEFERRED
    assert outcome.deferral is not None
    assert outcome.deferral.method == "done"
    assert outcome.deferral.timeout == 300.0
    assert serde.decode(dict(outcome.deferral.kwargs))["moment"] == MOMENT
    resumed = _run(
        task, next_method="done", next_kwargs=_event_kwargs(outcome.deferral.method_kwargs, MOMENT)
    )
    assert resumed.return_value == "x"


def test_time_delta_trigger_is_stored_as_the_moment_it_waits_for() -> None:
    trigger = TimeDeltaTrigger(timedelta(hours=1))
    classpath, kwargs = trigger.serialize()
    assert classpath == "tradewind.triggers.temporal.DateTimeTrigger"
    assert kwargs["moment"] > datetime.now(UTC)
    assert asyncio.iscoroutinefunction(DateTimeTrigger.cleanup)


def test_start_trigger_args_give_the_deferral_the_scheduler_stores() -> None:
    deferral = StartsInTrigger.start_trigger_args.deferral()
    assert deferral.classpath == "tradewind.triggers.temporal.DateTimeTrigger"
    assert serde.decode(dict(deferral.kwargs)) == {"moment": MOMENT}
    assert (deferral.method, deferral.method_kwargs, deferral.timeout) == (
        "done",
        {"label": "x"},
        300.0,
    )
