"""CronTriggerTimetable (Airflow's trigger timetable): a run at each cron tick, dated by it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tradewind.timetables import (
    CronTriggerTimetable,
    DataInterval,
    InvalidSchedule,
    TimeRestriction,
    deserialize_timetable,
)

UTC = dt.UTC


def at(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def test_the_first_run_is_the_first_tick_at_or_after_the_start_date_dated_by_it() -> None:
    timetable = CronTriggerTimetable("0 3 * * *", timezone="UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(at(1, 4), None, catchup=True),
        now=at(10),
    )
    assert info is not None
    assert info.run_after == at(2, 3)
    assert info.logical_date == at(2, 3)
    assert info.data_interval == DataInterval(at(2, 3), at(2, 3))


def test_later_runs_follow_the_last_tick() -> None:
    timetable = CronTriggerTimetable("0 3 * * *", timezone="UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(at(2, 3), at(2, 3)),
        restriction=TimeRestriction(at(1), None, catchup=True),
        now=at(10),
    )
    assert info is not None
    assert info.run_after == at(3, 3)


def test_without_catchup_the_latest_tick_before_now_runs_at_once() -> None:
    timetable = CronTriggerTimetable("0 3 * * *", timezone="UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(at(2, 3), at(2, 3)),
        restriction=TimeRestriction(at(1), None, catchup=False),
        now=at(10, 12),
    )
    assert info is not None
    assert info.run_after == at(10, 3)


def test_no_run_past_the_end_date_nor_without_a_start_date_under_catchup() -> None:
    timetable = CronTriggerTimetable("0 3 * * *", timezone="UTC")
    late = TimeRestriction(at(1), at(1, 12), catchup=True)
    last = DataInterval(at(1, 3), at(1, 3))
    assert (
        timetable.next_dagrun_info(last_automated_data_interval=last, restriction=late, now=at(10))
        is None
    )
    assert (
        timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(None, None, catchup=True),
            now=at(10),
        )
        is None
    )


def test_an_interval_reaches_back_from_the_tick() -> None:
    timetable = CronTriggerTimetable("0 3 * * *", timezone="UTC", interval=dt.timedelta(hours=1))
    assert timetable.infer_manual_data_interval(run_after=at(5, 7)) == DataInterval(
        at(5, 6), at(5, 7)
    )
    with pytest.raises(InvalidSchedule, match="interval"):
        CronTriggerTimetable("0 3 * * *", interval=dt.timedelta(hours=-1))


def test_it_round_trips_through_json() -> None:
    timetable = CronTriggerTimetable(
        "30 6 * * 1-5", timezone="Europe/Paris", interval=dt.timedelta(minutes=90)
    )
    data = json.loads(json.dumps(timetable.serialize()))
    assert data == {
        "type": "cron_trigger",
        "expression": "30 6 * * 1-5",
        "timezone": "Europe/Paris",
        "interval": 5400,
    }
    assert deserialize_timetable(data) == timetable
