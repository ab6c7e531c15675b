"""Airflow's trigger timetables: a run at each tick of a cron expression, dated by the tick.

Unlike :class:`~tradewind.timetables.cron.CronTimetable` (a run covers the interval between two
ticks and starts at the second, its logical date being the first), a
:class:`CronTriggerTimetable` run starts at a tick and its logical date is that tick. Its data
interval is ``[tick - interval, tick]`` (empty by default); tradewind dates a run by the start of
its data interval, so with a non-zero ``interval`` the logical date is that start, not the tick.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradewind.timetables.base import (
    DagRunInfo,
    DataInterval,
    InvalidSchedule,
    TimeRestriction,
    Timetable,
    require_aware,
)
from tradewind.timetables.cron import CronTimetable


class CronTriggerTimetable(Timetable):
    """Runs at every tick of ``cron`` in ``timezone``; each run is dated by its tick."""

    periodic = True
    can_be_scheduled = True

    def __init__(
        self,
        cron: str,
        *,
        timezone: str | dt.tzinfo = "UTC",
        interval: dt.timedelta = dt.timedelta(0),
        run_immediately: bool | dt.timedelta = False,
    ) -> None:
        if not isinstance(interval, dt.timedelta) or interval < dt.timedelta(0):
            raise InvalidSchedule(f"bad interval {interval!r}: expected a timedelta >= 0")
        self._ticks = CronTimetable(cron, timezone)
        self.interval = interval
        self.run_immediately = run_immediately
        self.expression = self._ticks.expression
        self.summary = self._ticks.summary
        self.description = self._ticks.description

    @property
    def timezone(self) -> dt.tzinfo:
        """The time zone the ticks are computed in."""
        return self._ticks.timezone

    def serialize(self) -> dict[str, Any]:
        seconds = self.interval.total_seconds()
        return {
            **self._ticks.serialize(),
            "type": "cron_trigger",
            "interval": int(seconds) if seconds.is_integer() else seconds,
        }

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        """``[run_after - interval, run_after]``."""
        run_after = require_aware(run_after, "run_after")
        return DataInterval(run_after - self.interval, run_after)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: dt.datetime,
    ) -> DagRunInfo | None:
        """The next tick: after the last run's, or the first at or after the start_date;
        without catchup, no earlier than the latest tick at or before ``now``."""
        now = require_aware(now, "now")
        candidates: list[dt.datetime] = []
        if last_automated_data_interval is not None:
            candidates.append(self._ticks._next(last_automated_data_interval.end))
        elif restriction.earliest is not None:
            candidates.append(self._ticks._align_next(restriction.earliest))
        elif restriction.catchup:
            return None
        if not restriction.catchup:
            candidates.append(self._ticks._align_prev(now))
        tick = max(candidates)
        if restriction.latest is not None and tick > restriction.latest:
            return None
        return DagRunInfo(run_after=tick, data_interval=DataInterval(tick - self.interval, tick))


def cron_trigger_from(data: dict[str, Any]) -> CronTriggerTimetable:
    """Rebuild a :class:`CronTriggerTimetable` from its ``serialize()``."""
    expression, timezone, interval = data["expression"], data["timezone"], data["interval"]
    if not isinstance(expression, str) or not isinstance(timezone, str):
        raise TypeError("expression and timezone must be strings")
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise TypeError("interval must be a number of seconds")
    return CronTriggerTimetable(
        expression, timezone=timezone, interval=dt.timedelta(seconds=interval)
    )
