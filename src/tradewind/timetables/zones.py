"""Time zones for schedules: resolving names and mapping wall-clock times to UTC."""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo

from tradewind.timetables.base import UTC, InvalidSchedule

_OFFSET_NAME = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def resolve_timezone(value: str | dt.tzinfo) -> dt.tzinfo:
    """Turn an IANA name, a "+HH:MM" offset or a tzinfo into a tzinfo we can name.

    Other libraries' zone objects (pendulum, pytz) are swapped for the zoneinfo
    zone of the same name, because their arithmetic differs from zoneinfo's and
    a schedule must be serialized by name for the scheduler.
    """
    if isinstance(value, str):
        return _zone_from_name(value)
    if isinstance(value, zoneinfo.ZoneInfo):
        return value
    if isinstance(value, dt.timezone):
        if value.utcoffset(None) == dt.timedelta(0):
            return zoneinfo.ZoneInfo("UTC")
        return value
    if isinstance(value, dt.tzinfo):
        for attribute in ("key", "zone", "name"):
            name = getattr(value, attribute, None)
            if isinstance(name, str):
                return _zone_from_name(name)
        raise InvalidSchedule(
            f"time zone {value!r} has no IANA name; pass a name such as 'Europe/Amsterdam'"
        )
    raise InvalidSchedule(
        f"time zone {value!r} is not a name or a tzinfo; pass a name such as 'Europe/Amsterdam'"
    )


def timezone_name(zone: dt.tzinfo) -> str:
    """The name that ``resolve_timezone`` turns back into ``zone``."""
    if isinstance(zone, zoneinfo.ZoneInfo):
        return zone.key
    offset = zone.utcoffset(None)
    if isinstance(zone, dt.timezone) and offset is not None:
        sign = "-" if offset < dt.timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    raise InvalidSchedule(f"time zone {zone!r} cannot be named; use resolve_timezone() first")


def _zone_from_name(name: str) -> dt.tzinfo:
    match = _OFFSET_NAME.match(name)
    if match:
        sign, hours, minutes = match.groups()
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if offset >= dt.timedelta(hours=24):
            raise InvalidSchedule(f"time zone offset {name!r} is out of range")
        return resolve_timezone(dt.timezone(-offset if sign == "-" else offset))
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(
            f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Amsterdam'"
        ) from None


def wall_clock(moment: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, dt.timedelta]:
    """The naive local time of an aware ``moment`` and how far it may be ambiguous.

    The second value is the size of the fold when the local time occurs twice
    (the hour repeated when clocks go back), else zero. Searches for cron ticks
    around ``moment`` widen by it so that ticks in the fold are not missed.
    """
    local = moment.astimezone(zone)
    naive = local.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset() or dt.timedelta(0)
    second = naive.replace(tzinfo=zone, fold=1).utcoffset() or dt.timedelta(0)
    return naive, abs(first - second)


def to_utc(naive: dt.datetime, zone: dt.tzinfo, *, fold: int) -> dt.datetime | None:
    """Map a local wall-clock time to UTC, or None if the clocks skipped it.

    An ambiguous time (clocks went back) maps to its first occurrence when
    ``fold`` is 0 and to its second when it is 1.
    """
    moment = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == naive:
        return moment
    return None


def jump_after(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The moment the clocks jumped over the skipped wall-clock time ``naive``."""
    # For a skipped time, fold 0 applies the offset from before the jump and
    # fold 1 the one from after it, so the jump lies between the two readings.
    early = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return _transition_within(early, late, zone)


def _transition_within(before: dt.datetime, after: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The first instant in ``(before, after]`` with the UTC offset that ``after`` has."""
    target = after.astimezone(zone).utcoffset()
    # Zone transitions fall on whole seconds, so bisect over whole seconds.
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, UTC)
