"""How a task's result, signals and exceptions become the try's outcome; callbacks; timeout."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradewind import DAG
from tradewind.exceptions import FailTask, RescheduleTask, SkipTask
from tradewind.operators import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.runtime import context as context_module
from tradewind.runtime import execute
from tradewind.states import TaskState
from tradewind.testing import EmptySource
from tradewind.workloads import TaskKey

LOGICAL = datetime(2024, 1, 1, tzinfo=UTC)


def _outcome(dag: DAG, task_id: str, *, try_number: int = 1, timeout: float | None = None) -> Any:
    task = dag.get_task(task_id)
    run = context_module.DagRunView("d", "r", LOGICAL, LOGICAL, LOGICAL)
    key = TaskKey("d", "r", task_id, try_number=try_number)
    ti = context_module.TaskInstanceView(key, task, EmptySource(), hostname="h", pid=1)
    context = context_module.build_context(dag, task, run, ti, EmptySource())
    outcome = execute.execute_task(task, context, ti, timeout)
    execute.run_callbacks(task, context, outcome, try_number)
    return outcome


def _python(function: Callable[..., Any], **kwargs: Any) -> DAG:
    with DAG("d") as dag:
        PythonOperator(task_id="t", python_callable=function, **kwargs)
    return dag


def test_success_pushes_the_return_value_and_manual_pushes() -> None:
    def work(ti: Any) -> dict[str, int]:
        ti.xcom_push("side", "note")
        return {"a": 1, "b": 2}

    outcome = _outcome(_python(work, multiple_outputs=True), "t")
    assert outcome.state is TaskState.SUCCESS
    assert outcome.xcoms == [
        ("side", "note"),
        ("return_value", {"a": 1, "b": 2}),
        ("a", 1),
        ("b", 2),
    ]
    message = outcome.message()
    assert message["type"] == "finished"
    assert message["xcoms"][1] == ["return_value", {"a": 1, "b": 2}]


def test_none_and_do_xcom_push_false_push_nothing() -> None:
    assert _outcome(_python(lambda: None), "t").xcoms == []
    assert _outcome(_python(lambda: 5, do_xcom_push=False), "t").xcoms == []


def test_a_value_that_is_not_json_fails_the_try_clearly() -> None:
    outcome = _outcome(_python(lambda: {1, 2}), "t")
    assert outcome.state is TaskState.FAILED
    assert "the return value of task 't' is not JSON-serializable" in outcome.error
    outcome = _outcome(_python(lambda: [1], multiple_outputs=True), "t")
    assert "has multiple_outputs but returned a list" in outcome.error


def test_exceptions_fail_retryably_with_a_one_line_error() -> None:
    def boom() -> None:
        raise ValueError("bad input\nsecond line")

    outcome = _outcome(_python(boom), "t")
    assert outcome.state is TaskState.FAILED
    assert outcome.retryable
    assert outcome.error == "ValueError: bad input second line"


def test_signals_steer_the_outcome() -> None:
    def skip() -> None:
        raise SkipTask("nothing to do")

    def fail() -> None:
        raise FailTask("wrong forever")

    later = LOGICAL + timedelta(hours=1)

    def wait() -> None:
        raise RescheduleTask(later)

    assert _outcome(_python(skip), "t").state is TaskState.SKIPPED
    failed = _outcome(_python(fail), "t")
    assert (failed.state, failed.retryable, failed.error) == (
        TaskState.FAILED,
        False,
        "wrong forever",
    )
    rescheduled = _outcome(_python(wait), "t")
    assert rescheduled.state is TaskState.UP_FOR_RESCHEDULE
    assert rescheduled.message()["reschedule_date"] == later.isoformat()


def test_branch_and_short_circuit_send_the_skip_list() -> None:
    with DAG("d") as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
        short = ShortCircuitOperator(task_id="short", python_callable=lambda: False)
        left, right, after = (EmptyOperator(task_id=t) for t in ("left", "right", "after"))
        branch >> [left, right]
        short >> left
        right >> after
    outcome = _outcome(dag, "branch")
    assert (outcome.state, outcome.skip, outcome.return_value) == (
        TaskState.SUCCESS,
        ["right"],
        "left",
    )
    outcome = _outcome(dag, "short")
    assert (outcome.state, outcome.skip) == (TaskState.SUCCESS, ["left"])
    assert outcome.xcoms == [("return_value", False)]


def test_callbacks_follow_the_outcome_and_never_change_it() -> None:
    calls: list[str] = []

    def record(name: str) -> Callable[[Any], None]:
        return lambda context: calls.append(f"{name}:{context['ti'].try_number}")

    def raising(context: Any) -> None:
        raise RuntimeError("callback broke")

    def fail() -> None:
        raise ValueError("x")

    callbacks = {
        "on_execute_callback": record("execute"),
        "on_success_callback": [raising, record("success")],
        "on_failure_callback": record("failure"),
        "on_retry_callback": record("retry"),
    }
    assert _outcome(_python(lambda: 1, **callbacks), "t").state is TaskState.SUCCESS
    assert calls == ["execute:1", "success:1"]
    calls.clear()
    dag = _python(fail, retries=1, **callbacks)
    _outcome(dag, "t", try_number=1)
    _outcome(dag, "t", try_number=2)
    assert calls == ["execute:1", "retry:1", "execute:2", "failure:2"]


def test_failure_callback_gets_the_exception() -> None:
    seen: list[Any] = []

    def fail() -> None:
        raise FailTask("no")

    _outcome(
        _python(fail, retries=3, on_failure_callback=lambda c: seen.append(c["exception"])), "t"
    )
    assert len(seen) == 1
    assert isinstance(seen[0], FailTask)


def test_execution_timeout_stops_the_task() -> None:
    killed: list[bool] = []

    class Slow(PythonOperator):
        def on_kill(self) -> None:
            killed.append(True)

    with DAG("d") as dag:
        Slow(task_id="t", python_callable=lambda: time.sleep(30))
    outcome = _outcome(dag, "t", timeout=0.2)
    assert outcome.state is TaskState.FAILED
    assert outcome.retryable
    assert outcome.error == "execution_timeout of 0.2 s exceeded"
    assert killed == [True]


def test_sys_exit_in_a_task_fails_the_try() -> None:
    outcome = _outcome(_python(lambda: sys.exit(3)), "t")
    assert outcome.state is TaskState.FAILED
    assert outcome.error == "SystemExit: 3"


@pytest.mark.parametrize("error", ["short", "x" * 5000])
def test_error_text_is_bounded(error: str) -> None:
    def fail() -> None:
        raise FailTask(error)

    assert len(_outcome(_python(fail), "t").error) <= execute.MAX_ERROR_CHARS
