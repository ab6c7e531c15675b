"""Build timetables from what users write in ``DAG(schedule=...)`` and from JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from tradewind.timetables import zones
from tradewind.timetables.assets import AssetOrTimeSchedule, AssetTriggeredTimetable
from tradewind.timetables.base import (
    DagRunInfo,
    DataInterval,
    InvalidSchedule,
    TimeRestriction,
    Timetable,
)
from tradewind.timetables.cron import CronTimetable
from tradewind.timetables.interval import DeltaTimetable
from tradewind.timetables.simple import NullTimetable, OnceTimetable
from tradewind.timetables.trigger import cron_trigger_from

Schedule = str | dt.timedelta | Timetable | None


def create_timetable(schedule: Schedule, timezone: str | dt.tzinfo) -> Timetable:
    """The timetable for a DAG's ``schedule`` in its ``timezone``.

    ``schedule`` is a cron string, a preset ("@daily", "@once", ...), a
    positive timedelta, None (manual runs only) or a Timetable, returned as is.
    Raises InvalidSchedule naming the bad value.
    """
    if isinstance(schedule, Timetable):
        return schedule
    # Checked for every kind so that a bad DAG time zone is always reported.
    zone = zones.resolve_timezone(timezone)
    if schedule is None:
        return NullTimetable()
    if isinstance(schedule, dt.timedelta):
        return DeltaTimetable(schedule)
    if isinstance(schedule, str):
        expression = schedule.strip()
        if expression == "@once":
            return OnceTimetable()
        if expression == "@continuous":
            raise InvalidSchedule(
                "bad schedule '@continuous': continuous runs are not supported; "
                "use a short cron or timedelta schedule instead"
            )
        return CronTimetable(expression, zone)
    raise InvalidSchedule(
        f"bad schedule {schedule!r}: expected a cron string, a preset such as '@daily', "
        "a datetime.timedelta, None or a Timetable"
    )


def deserialize_timetable(data: Mapping[str, Any]) -> Timetable:
    """Rebuild a timetable from the dict its ``serialize()`` returned."""
    if not isinstance(data, Mapping):
        raise InvalidSchedule(f"cannot deserialize timetable from {data!r}: expected a mapping")
    kind = data.get("type")
    build = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if build is None:
        known = ", ".join(sorted(_BUILDERS))
        raise InvalidSchedule(
            f"cannot deserialize timetable {dict(data)!r}: unknown type {kind!r}; known: {known}"
        )
    try:
        return build(data)
    except (KeyError, TypeError) as exc:
        raise InvalidSchedule(f"cannot deserialize timetable {dict(data)!r}: {exc!r}") from None


def _cron(data: Mapping[str, Any]) -> Timetable:
    expression, timezone = data["expression"], data["timezone"]
    if not isinstance(expression, str) or not isinstance(timezone, str):
        raise TypeError("expression and timezone must be strings")
    return CronTimetable(expression, timezone)


def _delta(data: Mapping[str, Any]) -> Timetable:
    seconds = data["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError("seconds must be a number")
    return DeltaTimetable(dt.timedelta(seconds=seconds))


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Timetable]] = {
    "cron": _cron,
    "timedelta": _delta,
    "cron_trigger": lambda data: cron_trigger_from(dict(data)),
    "once": lambda data: OnceTimetable(),
    "none": lambda data: NullTimetable(),
    "asset": lambda data: AssetTriggeredTimetable(),
    "asset_or_time": lambda data: AssetOrTimeSchedule(
        timetable=deserialize_timetable(data["timetable"])
    ),
}


def next_run_within(
    timetable: Timetable,
    *,
    start_date: dt.datetime | None,
    end_date: dt.datetime | None,
    catchup: bool,
    last_automated_data_interval: DataInterval | None,
    now: dt.datetime | None = None,
) -> DagRunInfo | None:
    """The next scheduled run of a DAG with these dates, after its last scheduled one."""
    return timetable.next_dagrun_info(
        last_automated_data_interval=last_automated_data_interval,
        restriction=TimeRestriction(start_date, end_date, catchup),
        now=now or dt.datetime.now(dt.UTC),
    )
