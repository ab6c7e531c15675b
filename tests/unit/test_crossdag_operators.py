"""ExternalTaskSensor, ExternalTaskMarker and TriggerDagRunOperator against in-memory doubles
of the metastore access the task runner gives them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import pytest

from tradewind import DAG
from tradewind.exceptions import DagDefinitionError, SkipTask, TaskError
from tradewind.operators.trigger_dagrun import TRIGGER_KEY, TriggerDagRunOperator
from tradewind.parsing.serialize import deserialize_dag, serialize_dag
from tradewind.sensors.external_task import RUNS_KEY, ExternalTaskMarker, ExternalTaskSensor

DAY1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY2 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)


class Runs:
    """Task states of another DAG by (logical date, task id), and its runs' states by date."""

    def __init__(self, tasks: dict[tuple[dt.datetime, str], str], runs: dict[dt.datetime, str]):
        self.tasks = tasks
        self.runs = runs
        self.asked: list[Collection[dt.datetime]] = []

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        if dag_id != "other":
            return None
        return {"load": None, "group.a": "group", "group.b": "group"}

    def run_states(self, dag_id: str, logical_dates: Collection[dt.datetime]) -> list[str]:
        self.asked.append(logical_dates)
        return [self.runs[d] for d in logical_dates if d in self.runs]

    def task_states(
        self, dag_id: str, logical_dates: Collection[dt.datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        self.asked.append(logical_dates)
        return [s for (d, t), s in self.tasks.items() if d in logical_dates and t in task_ids]


def sensor(**kwargs: Any) -> ExternalTaskSensor:
    with DAG("sensing", start_date=DAY1, schedule=None):
        return ExternalTaskSensor(task_id="wait", external_dag_id="other", **kwargs)


def poke(task: ExternalTaskSensor, runs: Runs, when: dt.datetime = DAY2) -> bool:
    return task.poke({"logical_date": when, RUNS_KEY: runs})


def test_waits_for_the_task_at_execution_delta() -> None:
    task = sensor(external_task_id="load", execution_delta=dt.timedelta(days=1))
    runs = Runs({(DAY2, "load"): "success"}, {})
    assert not poke(task, runs)
    assert runs.asked[-1] == [DAY1]
    runs.tasks[(DAY1, "load")] = "success"
    assert poke(task, runs)


def test_failed_and_skipped_states() -> None:
    task = sensor(external_task_id="load", failed_states=["failed"], skipped_states=["skipped"])
    with pytest.raises(TaskError, match="failed state"):
        poke(task, Runs({(DAY2, "load"): "failed"}, {}))
    with pytest.raises(SkipTask, match="skipped state"):
        poke(task, Runs({(DAY2, "load"): "skipped"}, {}))
    soft = sensor(external_task_id="load", failed_states=["failed"], soft_fail=True)
    with pytest.raises(SkipTask):
        poke(soft, Runs({(DAY2, "load"): "failed"}, {}))


def test_whole_run_group_and_date_fn() -> None:
    whole = sensor(allowed_states=["success", "failed"])
    assert poke(whole, Runs({}, {DAY2: "failed"}))
    group = sensor(external_task_group_id="group")
    assert not poke(group, Runs({(DAY2, "group.a"): "success"}, {}))
    assert poke(group, Runs({(DAY2, "group.a"): "success", (DAY2, "group.b"): "success"}, {}))
    by_fn = sensor(external_task_id="load", execution_date_fn=lambda d: [d, d - dt.timedelta(1)])
    runs = Runs({(DAY2, "load"): "success"}, {})
    assert not poke(by_fn, runs)
    runs.tasks[(DAY1, "load")] = "success"
    assert poke(by_fn, runs)


def test_check_existence_and_bad_arguments() -> None:
    with pytest.raises(TaskError, match="does not exist"):
        poke(sensor(external_task_id="nope", check_existence=True), Runs({}, {}))
    with pytest.raises(DagDefinitionError, match="only one of"):
        sensor(external_task_id="load", external_task_group_id="group")
    with pytest.raises(DagDefinitionError, match="not both"):
        sensor(execution_delta=dt.timedelta(1), execution_date_fn=lambda d: d)
    with pytest.raises(DagDefinitionError, match="more than one"):
        sensor(allowed_states=["success"], failed_states=["success"])


def test_marker_is_serialized_with_its_target() -> None:
    with DAG("marking", start_date=DAY1, schedule=None) as dag:
        ExternalTaskMarker(
            task_id="mark", external_dag_id="child", external_task_id="start", recursion_depth=3
        )
    marker = deserialize_dag(serialize_dag(dag)).tasks["mark"].external_marker
    assert marker == {
        "external_dag_id": "child",
        "external_task_id": "start",
        "logical_date": "{{ logical_date.isoformat() }}",
        "recursion_depth": 3,
    }


class Trigger:
    def __init__(self, states: dict[str, str]) -> None:
        self.states = states
        self.made: list[dict[str, Any]] = []
        self.reset: list[str] = []

    def trigger(self, dag_id: str, **kwargs: Any) -> tuple[str, dt.datetime]:
        self.made.append({"dag_id": dag_id, **kwargs})
        run_id = kwargs["run_id"] or "manual__x"
        self.states[run_id] = "success"
        return run_id, kwargs["logical_date"] or DAY2

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        return self.states.get(run_id)

    def reset_run(self, dag_id: str, run_id: str) -> None:
        self.reset.append(run_id)


class TI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def run_trigger(runs: Trigger, **kwargs: Any) -> TI:
    with DAG("controller", start_date=DAY1, schedule=None):
        task = TriggerDagRunOperator(task_id="go", trigger_dag_id="target", **kwargs)
    ti = TI()
    task.execute({TRIGGER_KEY: runs, "ti": ti})
    return ti


def test_trigger_makes_a_run_and_pushes_its_id() -> None:
    runs = Trigger({})
    ti = run_trigger(runs, conf={"a": 1}, logical_date="2024-01-01T00:00:00", poke_interval=0)
    assert runs.made == [
        {"dag_id": "target", "run_id": None, "conf": {"a": 1}, "logical_date": DAY1}
    ]
    assert ti.pushed == {"trigger_run_id": "manual__x", "trigger_logical_date": DAY1.isoformat()}


def test_trigger_with_an_existing_run() -> None:
    runs = Trigger({"taken": "success"})
    with pytest.raises(TaskError, match="already has a run"):
        run_trigger(runs, trigger_run_id="taken")
    with pytest.raises(SkipTask):
        run_trigger(runs, trigger_run_id="taken", skip_when_already_exists=True)
    run_trigger(runs, trigger_run_id="taken", reset_dag_run=True)
    assert runs.reset == ["taken"]
    assert runs.made == []


def test_wait_for_completion_fails_on_a_failed_state() -> None:
    runs = Trigger({"done": "failed"})
    runs.trigger = lambda dag_id, **kw: ("done", DAY2)  # type: ignore[method-assign]
    with pytest.raises(TaskError, match="ended in state 'failed'"):
        run_trigger(runs, trigger_run_id="new", wait_for_completion=True, poke_interval=0)
