"""timedelta timetables: fixed-length intervals from start_date."""

from __future__ import annotations

import datetime as dt

from tradewind.timetables import DataInterval, TimeRestriction, create_timetable

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_first_interval_starts_at_start_date_even_off_the_hour() -> None:
    timetable = create_timetable(HOUR, "UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(utc(2025, 1, 1, 0, 10), None, True),
        now=utc(2025, 1, 1),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 1, 1, 0, 10), utc(2025, 1, 1, 1, 10))
    assert info.run_after == utc(2025, 1, 1, 1, 10)


def test_next_interval_follows_the_last() -> None:
    timetable = create_timetable(HOUR, "UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(2025, 1, 1, 0, 10), utc(2025, 1, 1, 1, 10)),
        restriction=TimeRestriction(utc(2025, 1, 1, 0, 10), None, True),
        now=utc(2025, 6, 1),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 1, 1, 1, 10), utc(2025, 1, 1, 2, 10))


def test_without_catchup_the_latest_complete_interval_on_the_start_date_grid_runs() -> None:
    timetable = create_timetable(HOUR, "UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(utc(2025, 1, 1, 0, 10), None, False),
        now=utc(2025, 1, 1, 10, 30),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 1, 1, 9, 10), utc(2025, 1, 1, 10, 10))


def test_without_catchup_a_future_start_date_is_kept() -> None:
    timetable = create_timetable(HOUR, "UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(utc(2025, 2, 1), None, False),
        now=utc(2025, 1, 1),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 2, 1), utc(2025, 2, 1, 1))


def test_end_date_stops_the_runs() -> None:
    timetable = create_timetable(dt.timedelta(days=1), "UTC")
    restriction = TimeRestriction(utc(2025, 1, 1), utc(2025, 1, 2), True)
    last = DataInterval(utc(2025, 1, 2), utc(2025, 1, 3))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=last, restriction=restriction, now=utc(2025, 6, 1)
    )
    assert info is None


def test_a_day_stays_24_hours_across_dst() -> None:
    timetable = create_timetable(dt.timedelta(days=1), "Europe/Amsterdam")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(utc(2025, 3, 29, 23), None, True),
        now=utc(2025, 3, 1),
    )
    assert info is not None
    assert info.data_interval.end == utc(2025, 3, 30, 23)


def test_manual_run_covers_the_delta_before_it() -> None:
    timetable = create_timetable(dt.timedelta(minutes=30), "UTC")
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 1, 1, 12, 5))
    assert interval == DataInterval(utc(2025, 1, 1, 11, 35), utc(2025, 1, 1, 12, 5))
