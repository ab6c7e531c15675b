"""TimeSensor: waits until a time of day on the date of the run's data interval end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tradewind.exceptions import TaskError
from tradewind.sensors.deferral import DeferrableSensor
from tradewind.triggers.base import BaseTrigger
from tradewind.triggers.temporal import DateTimeTrigger


class TimeSensor(DeferrableSensor):
    """Done once ``target_time`` (a time of day) has passed on the day the run's data interval
    ends (its logical date if it has none), that day read in the DAG's time zone.

    A naive ``target_time`` is in the DAG's time zone; an aware one in its own. So a daily run
    waits for that time on the day after its interval, and a catch-up run of an old interval
    is done at once. With ``deferrable=True`` it waits in the triggerer (a DateTimeTrigger;
    ``end_from_trigger=True``: the trigger ends the task without a second process).
    """

    def __init__(
        self, *, target_time: dt.time, end_from_trigger: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.end_from_trigger = bool(end_from_trigger)
        if not isinstance(target_time, dt.time):
            raise self._error(
                f"task {self.task_id!r}: target_time must be a datetime.time, not {target_time!r}"
            )
        self.target_time = target_time

    def target_datetime(self, context: Mapping[str, Any]) -> dt.datetime:
        """The aware moment this sensor waits for, in the given run."""
        zone = self.dag.timezone if self.dag is not None else dt.UTC
        base = context.get("data_interval_end") or context.get("logical_date")
        if not isinstance(base, dt.datetime) or base.tzinfo is None:
            raise TaskError(
                f"task {self.task_id!r} needs an aware data_interval_end or logical_date "
                "in its context"
            )
        day = base.astimezone(zone).date()
        moment = dt.datetime.combine(day, self.target_time)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)

    def poke(self, context: Mapping[str, Any]) -> bool:
        return dt.datetime.now(dt.UTC) > self.target_datetime(context)

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        return DateTimeTrigger(
            self.target_datetime(context), end_from_trigger=self.end_from_trigger
        )


class TimeSensorAsync(TimeSensor):
    """Airflow 2's deferring TimeSensor: a TimeSensor with ``deferrable=True``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"deferrable": True, **kwargs})
