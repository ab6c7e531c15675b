"""DayOfWeekSensor, TimeSensor, DateTimeSensor and BashSensor: when each one is done."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG
from tradewind.authoring import templating
from tradewind.exceptions import DagDefinitionError, FailTask
from tradewind.sensors import (
    BashSensor,
    DateTimeSensor,
    DateTimeSensorAsync,
    DayOfWeekSensor,
    TimeSensor,
    TimeSensorAsync,
)
from tradewind.timetables.weekday import WeekDay

UTC = dt.UTC
MONDAY = dt.datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_day_of_week_sensor_on_the_logical_date() -> None:
    with DAG("d"):
        weekend = DayOfWeekSensor(
            task_id="weekend",
            week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
            use_task_logical_date=True,
        )
        monday = DayOfWeekSensor(task_id="monday", week_day="Monday", use_task_execution_day=True)
    assert weekend.poke({"logical_date": MONDAY}) is False
    assert weekend.poke({"logical_date": MONDAY + dt.timedelta(days=5)}) is True
    assert monday.poke({"logical_date": MONDAY}) is True


def test_day_of_week_sensor_on_today() -> None:
    today = dt.datetime.now(UTC).isoweekday()
    with DAG("d"):
        yes = DayOfWeekSensor(task_id="yes", week_day=WeekDay(today))
        no = DayOfWeekSensor(task_id="no", week_day=WeekDay(today % 7 + 1))
    assert yes.poke({}) is True
    assert no.poke({}) is False


def test_day_of_week_sensor_refuses_a_bad_day() -> None:
    with pytest.raises(DagDefinitionError, match="invalid week day"), DAG("d"):
        DayOfWeekSensor(task_id="s", week_day="someday")


def test_time_sensor_waits_for_the_time_on_the_day_the_interval_ends() -> None:
    now = dt.datetime.now(UTC)
    with DAG("d"):
        sensor = TimeSensor(task_id="s", target_time=dt.time(6))
    past_day = {"data_interval_end": now - dt.timedelta(days=2)}
    next_day = {"data_interval_end": now + dt.timedelta(days=1)}
    assert sensor.poke(past_day) is True
    assert sensor.poke(next_day) is False
    target = sensor.target_datetime({"data_interval_end": MONDAY})
    assert target == dt.datetime(2024, 1, 1, 6, tzinfo=UTC)


def test_time_sensor_reads_a_naive_time_in_the_dags_time_zone() -> None:
    with DAG("d", timezone="Europe/Paris"):
        sensor = TimeSensor(task_id="s", target_time=dt.time(6))
        aware = TimeSensor(task_id="aware", target_time=dt.time(6, tzinfo=UTC))
    assert sensor.target_datetime({"data_interval_end": MONDAY}).astimezone(UTC).hour == 5
    assert aware.target_datetime({"data_interval_end": MONDAY}).astimezone(UTC).hour == 6


def test_time_sensors_accept_deferrable() -> None:
    with DAG("d"):
        sensor = TimeSensorAsync(task_id="s", target_time=dt.time(0), poke_interval=0)
        late = DateTimeSensor(task_id="late", target_time=MONDAY.isoformat(), deferrable=True)
    assert sensor.deferrable
    assert late.deferrable
    # Its moment has passed: done at once, without deferring.
    assert sensor.execute({"data_interval_end": MONDAY}) is None


def test_date_time_sensor_target_is_templated() -> None:
    with DAG("d"):
        sensor = DateTimeSensor(task_id="s", target_time="{{ ds }}T06:00:00+00:00")
        future = DateTimeSensorAsync(
            task_id="f", target_time=dt.datetime.now(UTC) + dt.timedelta(hours=1)
        )
    templating.render_template_fields(sensor, {"ds": "2024-01-01"})
    assert sensor.target_datetime() == dt.datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert sensor.poke({}) is True
    assert future.poke({}) is False


def test_date_time_sensor_reads_a_naive_target_in_the_dags_time_zone() -> None:
    with DAG("d", timezone="Europe/Paris"):
        sensor = DateTimeSensor(task_id="s", target_time="2024-01-01T06:00:00")
    assert sensor.target_datetime().astimezone(UTC).hour == 5


def bash(command: str, **kwargs: Any) -> BashSensor:
    with DAG("d"):
        return BashSensor(task_id="s", bash_command=command, **kwargs)


def test_bash_sensor_is_done_on_exit_code_zero() -> None:
    assert bash("true").poke({}) is True
    assert bash("exit 3").poke({}) is False


def test_bash_sensor_retry_exit_code() -> None:
    sensor = bash("exit $CODE", env={"CODE": "3"}, retry_exit_code=3)
    assert sensor.poke({}) is False
    sensor.env = {"CODE": "4"}
    with pytest.raises(FailTask, match="exited with code 4"):
        sensor.poke({})


def test_bash_sensor_runs_in_a_temporary_folder(tmp_path: Path) -> None:
    marker = tmp_path / "where"
    assert bash(f"pwd > {marker}").poke({}) is True
    folder = Path(marker.read_text().strip())
    assert folder.name.startswith("tradewind-bash-")
    assert not folder.exists()


def test_bash_sensor_pokes_until_the_command_succeeds(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    sensor = bash(
        f"echo x >> {counter}; test $(wc -l < {counter}) -ge 3", poke_interval=0, timeout=60
    )
    assert sensor.execute({}) is None
    assert len(counter.read_text().splitlines()) == 3
