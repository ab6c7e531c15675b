"""TimeDeltaSensor: waits until a time span after the end of the run's data interval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tradewind.authoring import values
from tradewind.exceptions import TaskError
from tradewind.sensors.deferral import DeferrableSensor


class TimeDeltaSensor(DeferrableSensor):
    """Done once ``data_interval_end + delta`` has passed (``logical_date`` if no interval).

    ``deferrable=True`` is accepted: without a triggerer the sensor pokes.
    """

    def __init__(self, *, delta: dt.timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.delta = values.as_timedelta("delta", delta)
        except ValueError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None

    def poke(self, context: Mapping[str, Any]) -> bool:
        base = context.get("data_interval_end") or context.get("logical_date")
        if not isinstance(base, dt.datetime) or base.tzinfo is None:
            raise TaskError(
                f"task {self.task_id!r} needs an aware data_interval_end or logical_date "
                "in its context"
            )
        return dt.datetime.now(dt.UTC) >= base + self.delta


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """Airflow 2's deferring TimeDeltaSensor: a TimeDeltaSensor with ``deferrable=True``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"deferrable": True, **kwargs})
