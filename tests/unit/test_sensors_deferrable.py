"""deferrable=True on sensors: done at once when the condition holds, else a deferral on
the right trigger for the sensor's timeout; the resumed sensor succeeds, or fails or skips
as a timed-out sensor does. Without deferrable the sensors poke as before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG
from tradewind.exceptions import SensorTimeout, SkipTask, TaskDeferralError, TaskDeferred, TaskError
from tradewind.sensors import (
    DateTimeSensor,
    DateTimeSensorAsync,
    ExternalTaskSensor,
    FileSensor,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
    TimeSensor,
)
from tradewind.sensors.external_task import RUNS_KEY
from tradewind.triggers.external_task import WorkflowTrigger
from tradewind.triggers.file import FileTrigger
from tradewind.triggers.temporal import DateTimeTrigger

UTC = dt.UTC
NOW = dt.datetime.now(UTC)


def _deferral(sensor: Any, context: Mapping[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute(context)
    return caught.value


def test_time_delta_sensor_defers_until_its_moment() -> None:
    with DAG("d"):
        sensor = TimeDeltaSensor(
            task_id="s", delta=dt.timedelta(hours=1), deferrable=True, timeout=600
        )
        ended = TimeDeltaSensorAsync(
            task_id="e", delta=dt.timedelta(hours=1), end_from_trigger=True
        )
    deferral = _deferral(sensor, {"data_interval_end": NOW})
    assert isinstance(deferral.trigger, DateTimeTrigger)
    assert deferral.trigger.moment == NOW + dt.timedelta(hours=1)
    assert deferral.method_name == "execute_complete"
    assert deferral.timeout == dt.timedelta(seconds=600)
    assert _deferral(ended, {"data_interval_end": NOW}).trigger.end_from_trigger
    # Already passed: done without deferring.
    assert sensor.execute({"data_interval_end": NOW - dt.timedelta(days=1)}) is None


def test_time_and_date_time_sensors_defer_on_a_date_time_trigger() -> None:
    later = NOW + dt.timedelta(hours=2)
    with DAG("d"):
        time_sensor = TimeSensor(task_id="t", target_time=later.timetz(), deferrable=True)
        date_sensor = DateTimeSensorAsync(task_id="dt", target_time=later)
    # A run whose interval ends tomorrow: the target time of day is ahead whatever the hour
    # now (today's date with a time two hours on is past when now is after 22:00).
    tomorrow = {"data_interval_end": NOW + dt.timedelta(days=1)}
    found = _deferral(time_sensor, tomorrow)
    assert isinstance(found.trigger, DateTimeTrigger)
    assert found.trigger.moment == time_sensor.target_datetime(tomorrow)
    assert _deferral(date_sensor, {}).trigger.moment == later


def test_a_resumed_sensor_succeeds_times_out_or_soft_fails() -> None:
    with DAG("d"):
        sensor = DateTimeSensor(task_id="s", target_time=NOW, deferrable=True)
        soft = DateTimeSensor(task_id="soft", target_time=NOW, deferrable=True, soft_fail=True)
    assert sensor.resume_execution("execute_complete", {"event": NOW}, {}) is None
    timeout = {"error": "the trigger timed out", "timeout": True}
    with pytest.raises(SensorTimeout, match="timed out"):
        sensor.resume_execution("__fail__", timeout, {})
    with pytest.raises(SkipTask):
        soft.resume_execution("__fail__", timeout, {})
    with pytest.raises(TaskDeferralError, match="boom"):
        sensor.resume_execution("__fail__", {"error": "DateTimeTrigger: boom"}, {})
    with pytest.raises(SkipTask, match="boom"):
        soft.resume_execution("__fail__", {"error": "DateTimeTrigger: boom"}, {})


def test_file_sensor_defers_on_a_file_trigger_until_the_file_exists(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.csv")
    with DAG("d"):
        sensor = FileSensor(task_id="f", filepath=pattern, deferrable=True, poke_interval=7)
    deferral = _deferral(sensor, {})
    assert isinstance(deferral.trigger, FileTrigger)
    assert deferral.trigger.serialize()[1] == {
        "filepath": pattern,
        "recursive": False,
        "poke_interval": 7.0,
    }
    (tmp_path / "a.csv").write_text("x")
    assert sensor.execute({}) is None


def test_sensors_without_deferrable_still_poke(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    with DAG("d"):
        sensor = FileSensor(task_id="f", filepath=str(tmp_path / "*.csv"), poke_interval=0)
        waiting = FileSensor(
            task_id="w", filepath=str(tmp_path / "*.json"), mode="reschedule", timeout=60
        )
    assert sensor.execute({}) is None
    with pytest.raises(Exception, match="reschedule"):
        waiting.execute({})


class Runs:
    def __init__(self, tasks: dict[str, str | None]) -> None:
        self.tasks = tasks

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        return {"a": "grp", "b": "grp", "c": None}

    def run_states(self, dag_id: str, logical_dates: Collection[dt.datetime]) -> list[str]:
        return []

    def task_states(
        self, dag_id: str, logical_dates: Collection[dt.datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        return [self.tasks.get(t) for _ in logical_dates for t in task_ids]


def test_external_task_sensor_defers_on_a_workflow_trigger() -> None:
    day = dt.datetime(2024, 1, 2, tzinfo=UTC)
    with DAG("d"):
        sensor = ExternalTaskSensor(
            task_id="x",
            external_dag_id="other",
            external_task_group_id="grp",
            execution_delta=dt.timedelta(days=1),
            failed_states=["failed"],
            deferrable=True,
        )
    context = {"logical_date": day, RUNS_KEY: Runs({"a": "success", "b": "running"})}
    deferral = _deferral(sensor, context)
    assert isinstance(deferral.trigger, WorkflowTrigger)
    kwargs = deferral.trigger.serialize()[1]
    assert kwargs["logical_dates"] == [day - dt.timedelta(days=1)]
    assert kwargs["external_task_ids"] == ["a", "b"]
    assert kwargs["failed_states"] == ["failed"]
    assert sensor.execute_complete(context, {"status": "success"}) is None
    with pytest.raises(TaskError, match="failed state"):
        sensor.execute_complete(context, {"status": "failed"})
    with pytest.raises(SkipTask):
        sensor.execute_complete(context, {"status": "skipped"})
    done = {"logical_date": day, RUNS_KEY: Runs({"a": "success", "b": "success"})}
    assert sensor.execute(done) is None
