"""Aware datetimes for DAG files: Airflow's ``airflow.utils.timezone`` helpers and ``days_ago``.

A naive datetime is taken to be in UTC (Airflow takes its ``core.default_timezone``, which is
UTC unless changed); ``timezone`` arguments are an IANA name, a "+HH:MM" offset or a tzinfo.
The values are stdlib datetimes (pendulum DateTimes are datetimes too, so they pass as well).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradewind.timetables.base import UTC
from tradewind.timetables.zones import resolve_timezone

utc = UTC

Zone = str | dt.tzinfo | None


def _zone(timezone: Zone) -> dt.tzinfo:
    return UTC if timezone is None else resolve_timezone(timezone)


def datetime(*args: Any, **kwargs: Any) -> dt.datetime:
    """``datetime.datetime(...)``, in UTC unless ``tzinfo`` is given."""
    if "tzinfo" not in kwargs and len(args) < 8:
        kwargs["tzinfo"] = UTC
    return dt.datetime(*args, **kwargs)


def utcnow() -> dt.datetime:
    """Now, aware, in UTC."""
    return dt.datetime.now(UTC)


def days_ago(
    n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> dt.datetime:
    """Midnight in UTC (or the given time of day) ``n`` days ago, as Airflow 2's ``days_ago``."""
    today = utcnow().replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - dt.timedelta(days=n)


def is_localized(value: dt.datetime) -> bool:
    """Whether ``value`` is aware (has a UTC offset)."""
    return value.utcoffset() is not None


def is_naive(value: dt.datetime) -> bool:
    """Whether ``value`` is naive (no UTC offset)."""
    return value.utcoffset() is None


def make_aware(value: dt.datetime, timezone: Zone = None) -> dt.datetime:
    """A naive ``value`` read as wall-clock time in ``timezone`` (UTC by default)."""
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return value.replace(tzinfo=_zone(timezone))


def make_naive(value: dt.datetime, timezone: Zone = None) -> dt.datetime:
    """An aware ``value`` as naive wall-clock time in ``timezone`` (UTC by default)."""
    if is_naive(value):
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    return value.astimezone(_zone(timezone)).replace(tzinfo=None)


def convert_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in UTC (a naive one is taken to be UTC already); None stays None."""
    if value is None:
        return None
    if is_naive(value):
        value = make_aware(value)
    return value.astimezone(UTC)


def coerce_datetime(value: dt.datetime | None, tz: Zone = None) -> dt.datetime | None:
    """``value`` made aware (in ``tz``, UTC by default) if it is naive; None stays None."""
    if value is None:
        return None
    return make_aware(value, tz) if is_naive(value) else value


def parse(string: str, timezone: Zone = None, **_: Any) -> dt.datetime:
    """An ISO 8601 date or date-time; one without an offset is in ``timezone`` (UTC by default)."""
    value = dt.datetime.fromisoformat(string)
    return make_aware(value, timezone) if is_naive(value) else value
