"""Fixed-length schedules given as a datetime.timedelta."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradewind.timetables.base import DataInterval, InvalidSchedule, require_aware
from tradewind.timetables.periodic import PeriodicTimetable


class DeltaTimetable(PeriodicTimetable):
    """Runs every ``delta`` of elapsed time, starting at the DAG's start_date.

    Intervals are ``[start + k*delta, start + (k+1)*delta]``. The length is real
    elapsed time, so a one-day delta stays 24 hours across daylight-saving changes.
    """

    def __init__(self, delta: dt.timedelta) -> None:
        if not isinstance(delta, dt.timedelta):
            raise InvalidSchedule(f"bad schedule {delta!r}: expected a datetime.timedelta")
        if delta <= dt.timedelta(0):
            raise InvalidSchedule(f"bad schedule {delta!r}: a timedelta schedule must be positive")
        self.delta = delta
        self.summary = f"timedelta {delta}"
        self.description = f"Every {_words(delta)}"

    def serialize(self) -> dict[str, Any]:
        seconds = self.delta.total_seconds()
        # Whole seconds stay integers so that the JSON reads naturally.
        return {"type": "timedelta", "seconds": int(seconds) if seconds.is_integer() else seconds}

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        """The ``delta`` just before ``run_after``."""
        run_after = require_aware(run_after, "run_after")
        return DataInterval(run_after - self.delta, run_after)

    def _next(self, current: dt.datetime) -> dt.datetime:
        return current + self.delta

    def _prev(self, current: dt.datetime) -> dt.datetime:
        return current - self.delta

    # Any moment can start an interval; the grid is set by start_date alone.
    def _align_next(self, current: dt.datetime) -> dt.datetime:
        return current

    def _align_prev(self, current: dt.datetime) -> dt.datetime:
        return current

    def _latest_complete_start(self, now: dt.datetime, anchor: dt.datetime) -> dt.datetime:
        complete = (now - anchor) // self.delta
        if complete < 1:
            return anchor
        return anchor + (complete - 1) * self.delta


def _words(delta: dt.timedelta) -> str:
    seconds = delta.total_seconds()
    units = (("day", 86400), ("hour", 3600), ("minute", 60))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{int(count)} {name}{'s' if count != 1 else ''}")
    if seconds:
        shown = f"{seconds:g}"
        parts.append(f"{shown} second{'s' if seconds != 1 else ''}")
    return ", ".join(parts)
