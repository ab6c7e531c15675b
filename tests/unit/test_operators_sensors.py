"""Sensors: poke and reschedule modes, timeouts, soft_fail, backoff and the built-in sensors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, task
from tradewind.exceptions import (
    DagDefinitionError,
    FailTask,
    RescheduleTask,
    SensorTimeout,
    SkipTask,
)
from tradewind.sensors import (
    BaseSensorOperator,
    FileSensor,
    PokeReturnValue,
    PythonSensor,
    TimeDeltaSensor,
)


def answers(*results: Any) -> Any:
    pending = list(results)
    return lambda: pending.pop(0)


def test_poke_mode_returns_when_the_condition_holds() -> None:
    with DAG("d"):
        sensor = PythonSensor(
            task_id="s", python_callable=answers(False, False, True), poke_interval=0
        )
    assert sensor.execute({}) is None


def test_poke_return_value_carries_the_xcom() -> None:
    with DAG("d"):
        sensor = PythonSensor(
            task_id="s", python_callable=lambda: PokeReturnValue(True, xcom_value={"rows": 3})
        )
    assert sensor.execute({}) == {"rows": 3}


def test_timeout_fails_without_retry_or_skips_with_soft_fail() -> None:
    with DAG("d"):
        hard = PythonSensor(task_id="hard", python_callable=lambda: False, timeout=0)
        soft = PythonSensor(
            task_id="soft", python_callable=lambda: False, timeout=0, soft_fail=True
        )
    with pytest.raises(SensorTimeout, match="timed out") as info:
        hard.execute({})
    assert isinstance(info.value, FailTask)
    with pytest.raises(SkipTask, match="timed out"):
        soft.execute({})


def test_reschedule_mode_asks_to_run_again_after_the_interval() -> None:
    with DAG("d"):
        sensor = PythonSensor(
            task_id="s", python_callable=lambda: False, mode="reschedule", poke_interval=120
        )
    before = datetime.now(UTC)
    with pytest.raises(RescheduleTask) as info:
        sensor.execute({})
    assert before + timedelta(seconds=120) <= info.value.reschedule_date
    assert info.value.reschedule_date <= datetime.now(UTC) + timedelta(seconds=120)


def test_reschedule_mode_times_out_from_the_first_poke() -> None:
    with DAG("d"):
        sensor = PythonSensor(
            task_id="s", python_callable=lambda: False, mode="reschedule", timeout=3600
        )
    started = datetime.now(UTC) - timedelta(hours=2)
    with pytest.raises(SensorTimeout):
        sensor.execute({"sensor_started_at": started})


def test_exponential_backoff_doubles_up_to_max_wait() -> None:
    with DAG("d"):
        sensor = PythonSensor(
            task_id="s",
            python_callable=lambda: False,
            poke_interval=10,
            exponential_backoff=True,
            max_wait=timedelta(seconds=50),
        )
        steady = PythonSensor(task_id="steady", python_callable=lambda: False, poke_interval=10)
    assert [sensor.next_poke_interval(n) for n in range(4)] == [10, 20, 40, 50]
    assert steady.next_poke_interval(5) == 10


def test_bad_mode_and_intervals_are_definition_errors() -> None:
    with DAG("d"):
        with pytest.raises(DagDefinitionError, match="unknown sensor mode 'smart'"):
            PythonSensor(task_id="a", python_callable=bool, mode="smart")
        with pytest.raises(DagDefinitionError, match="poke_interval must not be negative"):
            PythonSensor(task_id="b", python_callable=bool, poke_interval=-1)


def test_file_sensor_matches_files_globs_and_non_empty_folders(tmp_path: Path) -> None:
    with DAG("d"):
        exact = FileSensor(task_id="exact", filepath=str(tmp_path / "data.csv"))
        pattern = FileSensor(task_id="glob", filepath=str(tmp_path / "*.csv"))
        folder = FileSensor(task_id="folder", filepath=str(tmp_path / "sub"))
        deep = FileSensor(task_id="deep", filepath=str(tmp_path / "**" / "*.json"), recursive=True)
    assert not exact.poke({})
    assert not pattern.poke({})
    (tmp_path / "data.csv").write_text("a,b\n")
    (tmp_path / "sub").mkdir()
    assert exact.poke({})
    assert pattern.poke({})
    assert not folder.poke({})
    (tmp_path / "sub" / "nested").mkdir()
    (tmp_path / "sub" / "nested" / "x.json").write_text("{}")
    assert folder.poke({})
    assert deep.poke({})


def test_time_delta_sensor_waits_after_the_data_interval_end() -> None:
    with DAG("d"):
        sensor = TimeDeltaSensor(task_id="t", delta=timedelta(hours=1))
    now = datetime.now(UTC)
    assert sensor.poke({"data_interval_end": now - timedelta(hours=2)})
    assert not sensor.poke({"data_interval_end": now})
    assert sensor.poke({"logical_date": now - timedelta(hours=2)})


def test_task_sensor_decorator_pokes_the_function() -> None:
    @task.sensor(poke_interval=0, timeout=60)
    def ready(threshold: int) -> PokeReturnValue:
        return PokeReturnValue(threshold > 1, xcom_value=threshold)

    with DAG("d") as dag:
        ready(5)
    assert dag.get_task("ready").execute({}) == 5


def test_custom_sensor_subclass() -> None:
    class CountingSensor(BaseSensorOperator):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.pokes = 0

        def poke(self, context: Any) -> bool:
            self.pokes += 1
            return self.pokes >= 3

    with DAG("d"):
        sensor = CountingSensor(task_id="c", poke_interval=0)
    sensor.execute({})
    assert sensor.pokes == 3
    assert sensor.is_sensor
