"""Shared run logic of the periodic timetables (cron and timedelta).

A periodic timetable cuts time into back-to-back data intervals. Each run
covers one interval and may start when it ends; its logical date is the start.
"""

from __future__ import annotations

import abc
import datetime as dt

from tradewind.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    require_aware,
)


class PeriodicTimetable(Timetable):
    """Base of timetables whose runs cover consecutive, equal-rule intervals."""

    periodic = True
    can_be_scheduled = True

    @abc.abstractmethod
    def _next(self, current: dt.datetime) -> dt.datetime:
        """The first interval boundary strictly after ``current``."""

    @abc.abstractmethod
    def _prev(self, current: dt.datetime) -> dt.datetime:
        """The last interval boundary strictly before ``current``."""

    @abc.abstractmethod
    def _align_next(self, current: dt.datetime) -> dt.datetime:
        """``current`` if it is a boundary, else the next boundary."""

    @abc.abstractmethod
    def _align_prev(self, current: dt.datetime) -> dt.datetime:
        """``current`` if it is a boundary, else the previous boundary."""

    @abc.abstractmethod
    def _latest_complete_start(self, now: dt.datetime, anchor: dt.datetime) -> dt.datetime:
        """Start of the interval that ended most recently at or before ``now``.

        ``anchor`` is a boundary (the start_date), for timetables whose grid
        depends on it.
        """

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: dt.datetime,
    ) -> DagRunInfo | None:
        """The next automated run, or None.

        The first run covers the first interval starting at or after the
        start_date (``restriction.earliest``); later runs follow the last one.
        Without catchup, intervals that ended before ``now`` are skipped up to
        the latest complete one. Runs starting after the end_date
        (``restriction.latest``) are never returned.
        """
        now = require_aware(now, "now")
        earliest = restriction.earliest
        if last_automated_data_interval is None:
            if earliest is None:
                return None
            start = self._align_next(earliest)
        else:
            # Re-aligning copes with a schedule that changed since the last run.
            start = self._align_prev(last_automated_data_interval.end)
            if earliest is not None and earliest > start:
                # A start_date moved past the last run (aligning only when needed saves a search).
                start = self._align_next(earliest)
        if not restriction.catchup:
            # start_date is on the grid of timetables that have one (timedelta).
            anchor = earliest if earliest is not None else start
            start = max(start, self._latest_complete_start(now, anchor))
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, self._next(start))


def schedule_after(timetable: Timetable, moment: dt.datetime) -> dt.datetime | None:
    """The first schedule point after ``moment`` (UTC); None for a timetable without points."""
    if not isinstance(timetable, PeriodicTimetable):
        return None
    return timetable._next(require_aware(moment, "moment"))


def schedule_before(timetable: Timetable, moment: dt.datetime) -> dt.datetime | None:
    """The last schedule point before ``moment`` (UTC); None for a timetable without points."""
    if not isinstance(timetable, PeriodicTimetable):
        return None
    return timetable._prev(require_aware(moment, "moment"))
