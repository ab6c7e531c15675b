"""DayOfWeekSensor: waits until it is one of the given days of the week."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from tradewind.sensors.base import BaseSensorOperator
from tradewind.timetables.weekday import WeekDay


class DayOfWeekSensor(BaseSensorOperator):
    """Done when today (in the DAG's time zone) is one of ``week_day``: a day name (any case),
    a :class:`WeekDay`, or a set of them.

    With ``use_task_logical_date=True`` the run's logical date decides instead, so the sensor
    is done at once or never (then it times out): useful to let backfills of other days pass
    or stop. ``use_task_execution_day`` is Airflow 2's older name of ``use_task_logical_date``.
    """

    def __init__(
        self,
        *,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        use_task_execution_day: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self._week_day_numbers = WeekDay.validate_week_day(week_day)
        except (TypeError, ValueError) as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        self.week_day = week_day
        self.use_task_logical_date = bool(use_task_logical_date or use_task_execution_day)

    def poke(self, context: Mapping[str, Any]) -> bool:
        if self.use_task_logical_date:
            day = context["logical_date"]
        else:
            zone = self.dag.timezone if self.dag is not None else dt.UTC
            day = dt.datetime.now(zone)
        return bool(day.isoweekday() in self._week_day_numbers)
