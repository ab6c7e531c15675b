"""TimeDeltaSensor: waits until a time span after the end of the run's data interval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tradewind.authoring import values
from tradewind.exceptions import TaskError
from tradewind.sensors.deferral import DeferrableSensor
from tradewind.triggers.base import BaseTrigger
from tradewind.triggers.temporal import DateTimeTrigger


class TimeDeltaSensor(DeferrableSensor):
    """Done once ``data_interval_end + delta`` has passed (``logical_date`` if no interval).

    With ``deferrable=True`` it waits in the triggerer (a DateTimeTrigger); with
    ``end_from_trigger=True`` too, the trigger ends the task without a second process.
    """

    def __init__(
        self, *, delta: dt.timedelta, end_from_trigger: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.end_from_trigger = bool(end_from_trigger)
        try:
            self.delta = values.as_timedelta("delta", delta)
        except ValueError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None

    def target_datetime(self, context: Mapping[str, Any]) -> dt.datetime:
        """The aware moment this sensor waits for, in the given run."""
        base = context.get("data_interval_end") or context.get("logical_date")
        if not isinstance(base, dt.datetime) or base.tzinfo is None:
            raise TaskError(
                f"task {self.task_id!r} needs an aware data_interval_end or logical_date "
                "in its context"
            )
        return base + self.delta

    def poke(self, context: Mapping[str, Any]) -> bool:
        return dt.datetime.now(dt.UTC) >= self.target_datetime(context)

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        return DateTimeTrigger(
            self.target_datetime(context), end_from_trigger=self.end_from_trigger
        )


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """Airflow 2's deferring TimeDeltaSensor: a TimeDeltaSensor with ``deferrable=True``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"deferrable": True, **kwargs})
