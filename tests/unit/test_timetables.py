"""Timetables: building them from schedules, errors, serialization, @once and None."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from typing import Any

import pytest

from tradewind import timetables
from tradewind.timetables import (
    CronTimetable,
    DagRunInfo,
    DataInterval,
    DeltaTimetable,
    InvalidSchedule,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    create_timetable,
    deserialize_timetable,
)

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 1, 12, tzinfo=UTC)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_public_names_are_exported() -> None:
    assert {
        "InvalidSchedule",
        "DataInterval",
        "TimeRestriction",
        "DagRunInfo",
        "Timetable",
        "create_timetable",
        "deserialize_timetable",
    } <= set(timetables.__all__)


@pytest.mark.parametrize(
    ("schedule", "kind", "summary", "periodic", "can_be_scheduled"),
    [
        ("0 6 * * *", CronTimetable, "0 6 * * *", True, True),
        ("@daily", CronTimetable, "@daily", True, True),
        (dt.timedelta(hours=1), DeltaTimetable, "timedelta 1:00:00", True, True),
        (None, NullTimetable, "None", False, False),
        ("@once", OnceTimetable, "@once", False, True),
    ],
)
def test_each_schedule_kind_builds_its_timetable(
    schedule: Any, kind: type, summary: str, periodic: bool, can_be_scheduled: bool
) -> None:
    timetable = create_timetable(schedule, "UTC")
    assert type(timetable) is kind
    assert timetable.summary == summary
    assert timetable.periodic is periodic
    assert timetable.can_be_scheduled is can_be_scheduled


def test_a_timetable_instance_is_returned_as_is() -> None:
    timetable = CronTimetable("0 6 * * *", "Europe/Amsterdam")
    assert create_timetable(timetable, "UTC") is timetable


def test_surrounding_whitespace_is_ignored() -> None:
    assert create_timetable("  0 6 * * * ", "UTC").summary == "0 6 * * *"
    assert type(create_timetable(" @once ", "UTC")) is OnceTimetable


@pytest.mark.parametrize(
    ("schedule", "named", "reason"),
    [
        ("xyz", "'xyz'", "5 fields"),
        ("* * * *", "'* * * *'", "5 fields"),
        ("0 0 * * * *", "'0 0 * * * *'", "5 fields"),
        ("61 * * * *", "'61 * * * *'", "out of range"),
        ("0 0 31 2 *", "'0 0 31 2 *'", ""),
        ("0 25 * * *", "'0 25 * * *'", ""),
        ("@fortnightly", "'@fortnightly'", "unknown preset"),
        ("@continuous", "'@continuous'", "not supported"),
        ("", "''", "5 fields"),
        (dt.timedelta(0), "datetime.timedelta(0)", "positive"),
        (dt.timedelta(hours=-1), "datetime.timedelta(days=-1, seconds=82800)", "positive"),
        (5, "5", "expected a cron string"),
        (dt.datetime(2025, 1, 1), "datetime.datetime(2025, 1, 1, 0, 0)", "expected a cron string"),
    ],
)
def test_bad_schedules_name_the_value_and_the_reason(
    schedule: Any, named: str, reason: str
) -> None:
    with pytest.raises(InvalidSchedule) as raised:
        create_timetable(schedule, "UTC")
    message = str(raised.value)
    assert message.startswith(f"bad schedule {named}")
    assert reason in message


def test_invalid_schedule_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad schedule 'nope'"):
        create_timetable("nope", "UTC")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "not a zone", "../etc/passwd", "+25:00"])
def test_unknown_time_zones_are_named_in_the_error(zone: str) -> None:
    with pytest.raises(InvalidSchedule, match="time zone"):
        create_timetable("@daily", zone)
    with pytest.raises(InvalidSchedule, match=re.escape(repr(zone))):
        create_timetable("@daily", zone)


def test_time_zone_objects_and_names_give_equal_timetables() -> None:
    by_name = create_timetable("0 6 * * *", "Europe/Amsterdam")
    by_zone = create_timetable("0 6 * * *", zoneinfo.ZoneInfo("Europe/Amsterdam"))
    assert by_name == by_zone
    assert create_timetable("@daily", dt.UTC).serialize()["timezone"] == "UTC"


def test_zone_objects_of_other_libraries_are_used_by_their_name() -> None:
    class NamedZone(dt.tzinfo):
        """Shaped like a pendulum zone: a tzinfo with an IANA ``name``."""

        name = "Asia/Tokyo"

        def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
            return dt.timedelta(hours=9)

    timetable = create_timetable("0 6 * * *", NamedZone())
    assert timetable.serialize()["timezone"] == "Asia/Tokyo"


def test_a_zone_without_a_name_is_refused() -> None:
    class Nameless(dt.tzinfo):
        def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
            return dt.timedelta(hours=1)

    with pytest.raises(InvalidSchedule, match="no IANA name"):
        create_timetable("@daily", Nameless())


def test_fixed_offset_zones_round_trip_and_schedule_in_that_offset() -> None:
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    timetable = create_timetable("0 6 * * *", zone)
    assert timetable.serialize()["timezone"] == "+05:30"
    assert deserialize_timetable(timetable.serialize()) == timetable
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 1, 2, 12))
    assert interval == DataInterval(utc(2025, 1, 1, 0, 30), utc(2025, 1, 2, 0, 30))


@pytest.mark.parametrize(
    "timetable",
    [
        CronTimetable("0 6 * * 1-5", "Europe/Amsterdam"),
        CronTimetable("@quarterly", "America/New_York"),
        CronTimetable("*/5 * * * *", dt.timezone(dt.timedelta(hours=-3))),
        DeltaTimetable(dt.timedelta(days=1, hours=2)),
        DeltaTimetable(dt.timedelta(seconds=90, microseconds=500)),
        OnceTimetable(),
        NullTimetable(),
    ],
    ids=repr,
)
def test_serialize_round_trips_through_json(timetable: timetables.Timetable) -> None:
    data = json.loads(json.dumps(timetable.serialize()))
    assert "type" in data
    rebuilt = deserialize_timetable(data)
    assert rebuilt == timetable
    assert rebuilt.serialize() == timetable.serialize()
    assert rebuilt.summary == timetable.summary


def test_serialized_forms_are_stable() -> None:
    assert create_timetable("@daily", "Europe/Amsterdam").serialize() == {
        "type": "cron",
        "expression": "@daily",
        "timezone": "Europe/Amsterdam",
    }
    assert create_timetable(dt.timedelta(hours=1), "UTC").serialize() == {
        "type": "timedelta",
        "seconds": 3600,
    }
    assert create_timetable("@once", "UTC").serialize() == {"type": "once"}
    assert create_timetable(None, "UTC").serialize() == {"type": "none"}


def test_timetables_differing_in_expression_or_zone_are_not_equal() -> None:
    daily = CronTimetable("@daily", "UTC")
    assert daily != CronTimetable("0 0 * * *", "UTC")
    assert daily != CronTimetable("@daily", "Europe/Amsterdam")
    assert DeltaTimetable(dt.timedelta(hours=1)) != DeltaTimetable(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"type": "weekly-ish"}, "unknown type 'weekly-ish'"),
        ({"expression": "@daily"}, "unknown type None"),
        ({"type": "cron", "expression": "@daily"}, "timezone"),
        ({"type": "cron", "expression": "bad", "timezone": "UTC"}, "bad schedule 'bad'"),
        ({"type": "timedelta", "seconds": "3600"}, "seconds must be a number"),
        ({"type": "timedelta", "seconds": -5}, "positive"),
    ],
)
def test_bad_serialized_timetables_give_clear_errors(data: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidSchedule, match=match):
        deserialize_timetable(data)


def test_descriptions_are_human_readable() -> None:
    assert create_timetable("0 6 * * *", "Europe/Amsterdam").description == (
        "At 06:00, Europe/Amsterdam"
    )
    assert create_timetable("30 8 * * 1-5", "UTC").description == (
        "At 08:30 on Monday through Friday, UTC"
    )
    assert create_timetable("0 12 1 * *", "UTC").description == (
        "At 12:00 on day 1 of the month, UTC"
    )
    assert create_timetable("@hourly", "UTC").description == "Every hour, UTC"
    assert create_timetable(dt.timedelta(hours=1, minutes=30), "UTC").description == (
        "Every 1 hour, 30 minutes"
    )
    # Shapes without a short wording still say what the schedule is.
    assert "0 0 L * *" in create_timetable("0 0 L * *", "UTC").description


def test_once_runs_exactly_at_start_date_whatever_catchup() -> None:
    once = create_timetable("@once", "Europe/Amsterdam")
    for catchup in (True, False):
        restriction = TimeRestriction(utc(2025, 1, 1, 9), None, catchup)
        info = once.next_dagrun_info(
            last_automated_data_interval=None, restriction=restriction, now=NOW
        )
        assert info == DagRunInfo.exact(utc(2025, 1, 1, 9))
        assert info is not None
        assert info.logical_date == utc(2025, 1, 1, 9)


def test_once_does_not_run_twice_nor_without_or_past_its_dates() -> None:
    once = create_timetable("@once", "UTC")
    done = DataInterval(utc(2025, 1, 1), utc(2025, 1, 1))
    start = TimeRestriction(utc(2025, 1, 1), None, True)
    assert (
        once.next_dagrun_info(last_automated_data_interval=done, restriction=start, now=NOW) is None
    )
    no_start = TimeRestriction(None, None, True)
    assert (
        once.next_dagrun_info(last_automated_data_interval=None, restriction=no_start, now=NOW)
        is None
    )
    ended = TimeRestriction(utc(2025, 1, 2), utc(2025, 1, 1), True)
    assert (
        once.next_dagrun_info(last_automated_data_interval=None, restriction=ended, now=NOW) is None
    )


def test_manual_only_schedule_never_runs_by_itself() -> None:
    manual = create_timetable(None, "UTC")
    restriction = TimeRestriction(utc(2025, 1, 1), None, True)
    assert (
        manual.next_dagrun_info(last_automated_data_interval=None, restriction=restriction, now=NOW)
        is None
    )


@pytest.mark.parametrize("schedule", [None, "@once"])
def test_manual_runs_of_non_periodic_schedules_cover_an_instant(schedule: str | None) -> None:
    timetable = create_timetable(schedule, "UTC")
    moment = utc(2025, 3, 4, 5, 6)
    assert timetable.infer_manual_data_interval(run_after=moment) == DataInterval(moment, moment)


def test_values_are_normalised_to_utc() -> None:
    amsterdam = zoneinfo.ZoneInfo("Europe/Amsterdam")
    interval = DataInterval(
        dt.datetime(2025, 1, 1, 1, tzinfo=amsterdam), dt.datetime(2025, 1, 2, 1, tzinfo=amsterdam)
    )
    assert interval.start == utc(2025, 1, 1)
    assert interval.start.tzinfo is UTC
    assert DagRunInfo.interval(interval.start, interval.end).logical_date == utc(2025, 1, 1)


def test_naive_datetimes_are_refused() -> None:
    naive = dt.datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        DataInterval(naive, naive)
    with pytest.raises(ValueError, match="naive"):
        TimeRestriction(naive, None, True)
    with pytest.raises(ValueError, match="naive"):
        TimeRestriction(None, naive, True)
    restriction = TimeRestriction(utc(2025, 1, 1), None, True)
    for schedule in ("@daily", dt.timedelta(hours=1), "@once", None):
        timetable = create_timetable(schedule, "UTC")
        with pytest.raises(ValueError, match="naive"):
            timetable.next_dagrun_info(
                last_automated_data_interval=None, restriction=restriction, now=naive
            )
        with pytest.raises(ValueError, match="naive"):
            timetable.infer_manual_data_interval(run_after=naive)


def test_data_interval_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before its start"):
        DataInterval(utc(2025, 1, 2), utc(2025, 1, 1))
