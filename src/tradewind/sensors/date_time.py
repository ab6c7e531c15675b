"""DateTimeSensor: waits until a given moment (templated, so it can follow the run's dates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tradewind.exceptions import TaskError
from tradewind.sensors.deferral import DeferrableSensor
from tradewind.triggers.base import BaseTrigger
from tradewind.triggers.temporal import DateTimeTrigger


class DateTimeSensor(DeferrableSensor):
    """Done once ``target_time`` has passed: a datetime, or an ISO 8601 string, usually a
    template such as ``"{{ data_interval_end.add(hours=1) }}"`` (templated).

    A naive value is read in the DAG's time zone. Unlike TimeSensor, the moment belongs to the
    run, so backfills of old runs do not wait. With ``deferrable=True`` it waits in the
    triggerer (a DateTimeTrigger; ``end_from_trigger=True``: the trigger ends the task without
    a second process).
    """

    template_fields: ClassVar[Sequence[str]] = ("target_time",)

    def __init__(
        self, *, target_time: str | dt.datetime, end_from_trigger: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.end_from_trigger = bool(end_from_trigger)
        if isinstance(target_time, dt.datetime):
            target_time = target_time.isoformat()
        if not isinstance(target_time, str):
            raise self._error(
                f"task {self.task_id!r}: target_time must be a datetime or an ISO 8601 string, "
                f"not {target_time!r}"
            )
        self.target_time = target_time

    def target_datetime(self) -> dt.datetime:
        """The aware moment this sensor waits for (after its template is rendered)."""
        value: Any = self.target_time  # a template may render to a datetime-like value
        try:
            moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise TaskError(
                f"task {self.task_id!r}: target_time {value!r} is not an ISO 8601 date and time"
            ) from None
        if moment.tzinfo is None:
            zone = self.dag.timezone if self.dag is not None else dt.UTC
            moment = moment.replace(tzinfo=zone)
        return moment

    def poke(self, context: Mapping[str, Any]) -> bool:
        return dt.datetime.now(dt.UTC) > self.target_datetime()

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        return DateTimeTrigger(self.target_datetime(), end_from_trigger=self.end_from_trigger)


class DateTimeSensorAsync(DateTimeSensor):
    """Airflow 2's deferring DateTimeSensor: a DateTimeSensor with ``deferrable=True``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"deferrable": True, **kwargs})
