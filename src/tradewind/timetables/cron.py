"""Cron schedules and the presets (@hourly, @daily, ...), evaluated in a time zone.

Ticks are computed on the DAG's local wall clock and returned in UTC. Around
daylight-saving changes:

* a tick whose wall time is skipped (clocks go forward) happens at the moment
  of the jump, so "30 2 * * *" in Europe/Amsterdam runs at 03:00 that day;
* a tick whose wall time occurs twice (clocks go back) happens once, at the
  first occurrence.

Schedules that run every hour ("*" in the hour field) follow elapsed time
instead, so that their intervals keep their usual length: they run in both
occurrences of a repeated hour, and not at all in a skipped one.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from croniter import CroniterError, croniter

from tradewind.timetables import describe, zones
from tradewind.timetables.base import DataInterval, InvalidSchedule, require_aware
from tradewind.timetables.periodic import PeriodicTimetable

PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

_PRESET_WORDS = {
    "@hourly": "Every hour",
    "@daily": "Every day at 00:00",
    "@midnight": "Every day at 00:00",
    "@weekly": "Every Sunday at 00:00",
    "@monthly": "On the first day of every month at 00:00",
    "@quarterly": "On the first day of every quarter at 00:00",
    "@yearly": "On January 1 at 00:00",
    "@annually": "On January 1 at 00:00",
}

_CRON_FIELDS = 5
# Probing from the start of a leap year lets 29 February count as a real date.
_PROBE = dt.datetime(2000, 1, 1)
_EPSILON = dt.timedelta(microseconds=1)


def validate_cron(expression: str) -> str:
    """Return the five-field cron behind ``expression`` (a cron or a preset).

    Raises InvalidSchedule naming the expression and what is wrong with it.
    """
    if expression.startswith("@"):
        if expression not in PRESETS:
            known = ", ".join(["@once", *PRESETS])
            raise InvalidSchedule(f"bad schedule {expression!r}: unknown preset; known: {known}")
        return PRESETS[expression]
    count = len(expression.split())
    if count != _CRON_FIELDS:
        raise InvalidSchedule(
            f"bad schedule {expression!r}: a cron expression has 5 fields "
            f"(minute hour day-of-month month day-of-week), this one has {count}"
        )
    try:
        croniter(expression, _PROBE).get_next(dt.datetime)
    except CroniterError as exc:
        raise InvalidSchedule(f"bad schedule {expression!r}: {exc}") from None
    return expression


class CronTimetable(PeriodicTimetable):
    """Runs at every tick of a cron expression or preset in a time zone.

    A run's data interval spans two consecutive ticks; it runs at the second.
    """

    def __init__(self, expression: str, timezone: str | dt.tzinfo = "UTC") -> None:
        expression = expression.strip()
        self._cron = validate_cron(expression)
        self._zone = zones.resolve_timezone(timezone)
        self._zone_name = zones.timezone_name(self._zone)
        self.expression = expression
        self.summary = expression
        if expression in _PRESET_WORDS:
            self.description = f"{_PRESET_WORDS[expression]}, {self._zone_name}"
        else:
            self.description = describe.describe_cron(expression, self._cron, self._zone_name)
        # Parsing dominates the cost of a tick search; searches copy this one.
        self._parsed = croniter(self._cron, _PROBE)
        self._every_hour = self._parsed.expanded[1] == ["*"]
        self._folds = (0, 1) if self._every_hour else (0,)

    @property
    def timezone(self) -> dt.tzinfo:
        """The time zone the ticks are computed in."""
        return self._zone

    def serialize(self) -> dict[str, Any]:
        return {"type": "cron", "expression": self.expression, "timezone": self._zone_name}

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        """The latest complete interval that ended at or before ``run_after``."""
        end = self._align_prev(require_aware(run_after, "run_after"))
        return DataInterval(self._prev(end), end)

    # Each fold is searched on its own because each mapping from wall time to
    # UTC is monotonic, so the first candidate past ``current`` is the nearest.
    def _next(self, current: dt.datetime) -> dt.datetime:
        naive, spread = zones.wall_clock(current, self._zone)
        found: list[dt.datetime] = []
        for fold in self._folds:
            # Start early by the fold size: a tick in the repeated hour may
            # have a smaller wall time than ``current`` yet come after it.
            ticks = self._ticks_from(naive - spread)
            tick: dt.datetime | None = None
            while tick is None or tick <= current:
                tick = self._moment(ticks.get_next(dt.datetime), fold)
            found.append(tick)
        return min(found)

    def _prev(self, current: dt.datetime) -> dt.datetime:
        naive, spread = zones.wall_clock(current, self._zone)
        found: list[dt.datetime] = []
        for fold in self._folds:
            ticks = self._ticks_from(naive + spread)
            tick: dt.datetime | None = None
            while tick is None or tick >= current:
                tick = self._moment(ticks.get_prev(dt.datetime), fold)
            found.append(tick)
        return max(found)

    def _ticks_from(self, naive: dt.datetime) -> croniter[float]:
        ticks = copy.copy(self._parsed)
        ticks.set_current(naive, force=True)
        return ticks

    def _moment(self, naive: dt.datetime, fold: int) -> dt.datetime | None:
        """When the tick at wall time ``naive`` happens; None if it does not."""
        moment = zones.to_utc(naive, self._zone, fold=fold)
        if moment is None and not self._every_hour:
            return zones.jump_after(naive, self._zone)
        return moment

    def _align_next(self, current: dt.datetime) -> dt.datetime:
        return self._next(current - _EPSILON)

    def _align_prev(self, current: dt.datetime) -> dt.datetime:
        return self._prev(current + _EPSILON)

    def _latest_complete_start(self, now: dt.datetime, anchor: dt.datetime) -> dt.datetime:
        return self._prev(self._align_prev(now))
