"""The non-periodic timetables: manual only (None) and a single run (@once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradewind.timetables.base import (
    DagRunInfo,
    DataInterval,
    TimeRestriction,
    Timetable,
    require_aware,
)


class _SinglePointTimetable(Timetable):
    """Manual runs of these cover no span of data: ``[run_after, run_after]``."""

    periodic = False

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        run_after = require_aware(run_after, "run_after")
        return DataInterval(run_after, run_after)


class NullTimetable(_SinglePointTimetable):
    """Never runs on its own; the DAG runs only when triggered (``schedule=None``)."""

    summary = "None"
    description = "Never, only when triggered"
    can_be_scheduled = False

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: dt.datetime,
    ) -> DagRunInfo | None:
        require_aware(now, "now")
        return None

    def serialize(self) -> dict[str, Any]:
        return {"type": "none"}


class OnceTimetable(_SinglePointTimetable):
    """Runs once, at the DAG's start_date, whatever the catchup setting."""

    summary = "@once"
    description = "Once, at the start date"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: dt.datetime,
    ) -> DagRunInfo | None:
        require_aware(now, "now")
        if last_automated_data_interval is not None or restriction.earliest is None:
            return None
        if restriction.latest is not None and restriction.earliest > restriction.latest:
            return None
        return DagRunInfo.exact(restriction.earliest)

    def serialize(self) -> dict[str, Any]:
        return {"type": "once"}
