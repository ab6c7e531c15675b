"""Cron and preset timetables: alignment, catchup, end_date, time zones and DST."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest

from tradewind.timetables import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    create_timetable,
)

UTC = dt.UTC
AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def first_run(
    timetable: Timetable, start: dt.datetime | None, *, catchup: bool = True, now: dt.datetime
) -> DagRunInfo | None:
    return timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(start, None, catchup),
        now=now,
    )


def runs(
    timetable: Timetable, start: dt.datetime, count: int, *, end: dt.datetime | None = None
) -> list[DagRunInfo]:
    """Up to ``count`` successive runs with catchup on, as the scheduler would create them."""
    restriction = TimeRestriction(start, end, True)
    found: list[DagRunInfo] = []
    last: DataInterval | None = None
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction, now=utc(2100, 1, 1)
        )
        if info is None:
            break
        found.append(info)
        last = info.data_interval
    return found


def test_first_run_is_aligned_up_to_the_next_tick() -> None:
    timetable = create_timetable("0 6 * * *", "UTC")
    info = first_run(timetable, utc(2025, 1, 1, 3, 15), now=utc(2025, 1, 1, 4))
    assert info == DagRunInfo(
        run_after=utc(2025, 1, 2, 6),
        data_interval=DataInterval(utc(2025, 1, 1, 6), utc(2025, 1, 2, 6)),
    )
    assert info.logical_date == utc(2025, 1, 1, 6)


def test_start_date_on_a_tick_starts_the_first_interval() -> None:
    info = first_run(create_timetable("@daily", "UTC"), utc(2025, 1, 1), now=utc(2025, 1, 1))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 1, 1), utc(2025, 1, 2))


def test_runs_follow_each_other_without_gaps() -> None:
    found = runs(create_timetable("0 */6 * * *", "UTC"), utc(2025, 1, 1), 5)
    assert [info.logical_date for info in found] == [
        utc(2025, 1, 1, 0),
        utc(2025, 1, 1, 6),
        utc(2025, 1, 1, 12),
        utc(2025, 1, 1, 18),
        utc(2025, 1, 2, 0),
    ]
    assert all(info.run_after == info.data_interval.end for info in found)


def test_no_start_date_and_no_previous_run_means_no_run() -> None:
    assert first_run(create_timetable("@daily", "UTC"), None, now=utc(2025, 1, 1)) is None
    assert (
        first_run(create_timetable("@daily", "UTC"), None, catchup=False, now=utc(2025, 1, 1))
        is None
    )


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("@hourly", utc(2025, 5, 14, 10), utc(2025, 5, 14, 11)),
        ("@daily", utc(2025, 5, 15), utc(2025, 5, 16)),
        ("@midnight", utc(2025, 5, 15), utc(2025, 5, 16)),
        ("@weekly", utc(2025, 5, 18), utc(2025, 5, 25)),
        ("@monthly", utc(2025, 6, 1), utc(2025, 7, 1)),
        ("@quarterly", utc(2025, 7, 1), utc(2025, 10, 1)),
        ("@yearly", utc(2026, 1, 1), utc(2027, 1, 1)),
        ("@annually", utc(2026, 1, 1), utc(2027, 1, 1)),
    ],
)
def test_presets(preset: str, start: dt.datetime, end: dt.datetime) -> None:
    # 2025-05-14 is a Wednesday; the first run starts at the first tick after 09:30.
    info = first_run(create_timetable(preset, "UTC"), utc(2025, 5, 14, 9, 30), now=utc(2025, 1, 1))
    assert info is not None
    assert info.data_interval == DataInterval(start, end)


def test_catchup_creates_every_missed_interval_from_start_date() -> None:
    timetable = create_timetable("@daily", "UTC")
    info = first_run(timetable, utc(2025, 1, 1), catchup=True, now=utc(2025, 3, 10, 15))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 1, 1), utc(2025, 1, 2))


def test_without_catchup_the_first_run_is_the_latest_complete_interval() -> None:
    timetable = create_timetable("@daily", "UTC")
    info = first_run(timetable, utc(2025, 1, 1), catchup=False, now=utc(2025, 3, 10, 15))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 9), utc(2025, 3, 10))


def test_without_catchup_an_interval_ending_exactly_now_is_the_latest() -> None:
    timetable = create_timetable("@daily", "UTC")
    info = first_run(timetable, utc(2025, 1, 1), catchup=False, now=utc(2025, 3, 10))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 9), utc(2025, 3, 10))


def test_without_catchup_a_scheduler_that_fell_behind_skips_ahead() -> None:
    timetable = create_timetable("0 * * * *", "UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(2025, 3, 1, 0), utc(2025, 3, 1, 1)),
        restriction=TimeRestriction(utc(2025, 1, 1), None, False),
        now=utc(2025, 3, 2, 7, 20),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 2, 6), utc(2025, 3, 2, 7))


def test_without_catchup_an_up_to_date_dag_continues_normally() -> None:
    timetable = create_timetable("0 * * * *", "UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(2025, 3, 2, 6), utc(2025, 3, 2, 7)),
        restriction=TimeRestriction(utc(2025, 1, 1), None, False),
        now=utc(2025, 3, 2, 7, 20),
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 2, 7), utc(2025, 3, 2, 8))


def test_without_catchup_a_future_start_date_is_kept() -> None:
    timetable = create_timetable("@daily", "UTC")
    info = first_run(timetable, utc(2025, 4, 1, 12), catchup=False, now=utc(2025, 3, 10))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 4, 2), utc(2025, 4, 3))


def test_without_catchup_a_recent_start_date_waits_for_its_first_interval() -> None:
    # start_date yesterday 10:00: the first complete daily interval is today's.
    timetable = create_timetable("@daily", "UTC")
    info = first_run(timetable, utc(2025, 3, 9, 10), catchup=False, now=utc(2025, 3, 10, 10))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 10), utc(2025, 3, 11))


def test_end_date_stops_runs_after_the_interval_starting_on_it() -> None:
    found = runs(create_timetable("@daily", "UTC"), utc(2025, 1, 1), 10, end=utc(2025, 1, 3))
    assert [info.logical_date for info in found] == [
        utc(2025, 1, 1),
        utc(2025, 1, 2),
        utc(2025, 1, 3),
    ]


def test_end_date_before_the_first_tick_means_no_run() -> None:
    found = runs(create_timetable("@daily", "UTC"), utc(2025, 1, 1, 1), 10, end=utc(2025, 1, 1, 12))
    assert found == []


def test_ticks_are_in_the_dag_time_zone_and_returned_in_utc() -> None:
    timetable = create_timetable("0 6 * * *", "Europe/Amsterdam")
    winter = first_run(timetable, utc(2025, 1, 10), now=utc(2025, 1, 1))
    summer = first_run(timetable, utc(2025, 7, 10), now=utc(2025, 1, 1))
    assert winter is not None
    assert summer is not None
    assert winter.logical_date == utc(2025, 1, 10, 5)
    assert summer.logical_date == utc(2025, 7, 10, 4)
    assert winter.run_after.tzinfo is UTC
    assert summer.data_interval.end.tzinfo is UTC


def test_manual_run_covers_the_latest_complete_interval() -> None:
    timetable = create_timetable("@daily", "Europe/Amsterdam")
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 1, 25, 0, 30))
    # 00:30 UTC is 01:30 in Amsterdam: the day that just ended there.
    assert interval == DataInterval(utc(2025, 1, 23, 23), utc(2025, 1, 24, 23))


def test_manual_run_on_a_tick_covers_the_interval_ending_then() -> None:
    timetable = create_timetable("0 6 * * *", "UTC")
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 1, 25, 6))
    assert interval == DataInterval(utc(2025, 1, 24, 6), utc(2025, 1, 25, 6))


# Daylight saving time in 2025: Europe/Amsterdam goes forward on March 30 (02:00 -> 03:00)
# and back on October 26 (03:00 -> 02:00); America/New_York goes forward on March 9
# (02:00 -> 03:00) and back on November 2 (02:00 -> 01:00).
TRANSITIONS = [
    pytest.param(AMSTERDAM, dt.date(2025, 3, 30), "0 2 * * *", id="amsterdam-forward-0200"),
    pytest.param(AMSTERDAM, dt.date(2025, 3, 30), "30 2 * * *", id="amsterdam-forward-0230"),
    pytest.param(AMSTERDAM, dt.date(2025, 10, 26), "30 2 * * *", id="amsterdam-back-0230"),
    pytest.param(NEW_YORK, dt.date(2025, 3, 9), "30 2 * * *", id="newyork-forward-0230"),
    pytest.param(NEW_YORK, dt.date(2025, 11, 2), "30 1 * * *", id="newyork-back-0130"),
]


@pytest.mark.parametrize(("zone", "day", "cron"), TRANSITIONS)
def test_daily_runs_across_dst_happen_once_per_local_day(
    zone: zoneinfo.ZoneInfo, day: dt.date, cron: str
) -> None:
    timetable = create_timetable(cron, zone)
    start = dt.datetime.combine(day - dt.timedelta(days=3), dt.time(), tzinfo=zone)
    found = runs(timetable, start, 6)
    local_days = [info.logical_date.astimezone(zone).date() for info in found]
    assert local_days == [day + dt.timedelta(days=offset) for offset in range(-3, 3)]
    for before, after in itertools.pairwise(found):
        assert after.data_interval.start == before.data_interval.end
        assert after.data_interval.start > before.data_interval.start


def test_a_tick_in_the_skipped_hour_runs_when_the_clock_jumps() -> None:
    timetable = create_timetable("0 2 * * *", "Europe/Amsterdam")
    found = runs(timetable, utc(2025, 3, 29, 12), 2)
    # 02:00 does not exist on March 30; the run happens at 03:00 local (01:00 UTC).
    assert [info.logical_date for info in found] == [utc(2025, 3, 30, 1), utc(2025, 3, 31, 0)]


def test_a_tick_in_the_repeated_hour_runs_at_its_first_occurrence_only() -> None:
    timetable = create_timetable("30 1 * * *", "America/New_York")
    found = runs(timetable, utc(2025, 11, 2), 2)
    # 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST); only the first counts.
    assert [info.logical_date for info in found] == [
        utc(2025, 11, 2, 5, 30),
        utc(2025, 11, 3, 6, 30),
    ]


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (AMSTERDAM, dt.date(2025, 3, 30)),
        (AMSTERDAM, dt.date(2025, 10, 26)),
        (NEW_YORK, dt.date(2025, 3, 9)),
        (NEW_YORK, dt.date(2025, 11, 2)),
    ],
)
def test_hourly_runs_across_dst_stay_one_hour_long(zone: zoneinfo.ZoneInfo, day: dt.date) -> None:
    timetable = create_timetable("30 * * * *", zone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    found = runs(timetable, start, 8)
    lengths = {info.data_interval.end - info.data_interval.start for info in found}
    assert lengths == {dt.timedelta(hours=1)}
    assert len({info.logical_date for info in found}) == 8


def test_manual_run_inside_the_repeated_hour_sees_the_tick_just_before() -> None:
    timetable = create_timetable("30 1 * * *", "America/New_York")
    # 06:45 UTC is 01:45 EST, the second 01:45 of the night; 01:30 EDT came an hour before.
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 11, 2, 6, 45))
    assert interval == DataInterval(utc(2025, 11, 1, 5, 30), utc(2025, 11, 2, 5, 30))


def test_catchup_off_lands_on_a_real_interval_across_dst() -> None:
    timetable = create_timetable("0 2 * * *", "Europe/Amsterdam")
    info = first_run(timetable, utc(2025, 1, 1), catchup=False, now=utc(2025, 3, 31, 12))
    assert info is not None
    assert info.data_interval == DataInterval(utc(2025, 3, 30, 1), utc(2025, 3, 31, 0))


@pytest.mark.parametrize(
    ("zone", "day"), [(AMSTERDAM, dt.date(2025, 3, 30)), (NEW_YORK, dt.date(2025, 11, 2))]
)
@pytest.mark.parametrize("cron", ["0 2 * * *", "30 1 * * *", "*/20 * * * *"])
def test_manual_runs_agree_with_scheduled_runs_around_dst(
    zone: zoneinfo.ZoneInfo, day: dt.date, cron: str
) -> None:
    timetable = create_timetable(cron, zone)
    start = dt.datetime.combine(day - dt.timedelta(days=3), dt.time(), tzinfo=zone)
    until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    ticks = [info.data_interval.end for info in runs(timetable, start, 400, end=until)]
    moment = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(UTC)
    for _ in range(36):
        moment += dt.timedelta(minutes=20)
        ended = [tick for tick in ticks if tick <= moment]
        interval = timetable.infer_manual_data_interval(run_after=moment)
        assert interval.end == ended[-1]
        assert interval.start == ended[-2]
