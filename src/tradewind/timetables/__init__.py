"""Timetables: when a DAG runs on its own and which data interval each run covers.

``create_timetable`` turns a DAG's ``schedule`` into a Timetable; the scheduler
rebuilds it from ``Timetable.serialize()`` with ``deserialize_timetable``
without importing user code.
"""

from tradewind.timetables.base import (
    DagRunInfo,
    DataInterval,
    InvalidSchedule,
    TimeRestriction,
    Timetable,
)
from tradewind.timetables.cron import PRESETS, CronTimetable
from tradewind.timetables.factory import (
    Schedule,
    create_timetable,
    deserialize_timetable,
    next_run_within,
)
from tradewind.timetables.interval import DeltaTimetable
from tradewind.timetables.periodic import schedule_after, schedule_before
from tradewind.timetables.simple import NullTimetable, OnceTimetable
from tradewind.timetables.trigger import CronTriggerTimetable

__all__ = [
    "PRESETS",
    "CronTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DataInterval",
    "DeltaTimetable",
    "InvalidSchedule",
    "NullTimetable",
    "OnceTimetable",
    "Schedule",
    "TimeRestriction",
    "Timetable",
    "create_timetable",
    "deserialize_timetable",
    "next_run_within",
    "schedule_after",
    "schedule_before",
]
