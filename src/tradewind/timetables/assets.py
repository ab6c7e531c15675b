"""The timetables of DAGs scheduled on assets: on asset updates alone (``schedule=[asset]``),
or on asset updates as well as on a time schedule (:class:`AssetOrTimeSchedule`).

The runs that asset updates create are the scheduler's business (it reads the DAG's serialized
condition); these timetables only say when the DAG runs by time, if ever.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradewind.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from tradewind.timetables.simple import NullTimetable


class AssetTriggeredTimetable(NullTimetable):
    """Runs only when its assets were updated (or when triggered by hand)."""

    summary = "Asset"
    description = "Triggered by asset updates"

    def serialize(self) -> dict[str, Any]:
        return {"type": "asset"}


class AssetOrTimeSchedule(Timetable):
    """Runs on ``timetable`` and whenever ``assets`` (an asset, a list or a condition) were
    updated."""

    def __init__(self, *, timetable: Timetable, assets: Any = None) -> None:
        if not isinstance(timetable, Timetable):
            raise TypeError(f"timetable must be a Timetable, not {timetable!r}")
        self.timetable = timetable
        self.assets = assets
        self.summary = f"Asset or {timetable.summary}"
        self.description = f"Triggered by asset updates or {timetable.description.lower()}"
        self.periodic = timetable.periodic
        self.can_be_scheduled = timetable.can_be_scheduled

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: dt.datetime,
    ) -> DagRunInfo | None:
        return self.timetable.next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval,
            restriction=restriction,
            now=now,
        )

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        return self.timetable.infer_manual_data_interval(run_after=run_after)

    def serialize(self) -> dict[str, Any]:
        return {"type": "asset_or_time", "timetable": self.timetable.serialize()}


class DatasetOrTimeSchedule(AssetOrTimeSchedule):
    """Airflow 2's name: ``DatasetOrTimeSchedule(timetable=..., datasets=...)``."""

    def __init__(self, *, timetable: Timetable, datasets: Any = None) -> None:
        super().__init__(timetable=timetable, assets=datasets)
