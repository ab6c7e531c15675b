"""BranchDayOfWeekOperator: follow one set of tasks on some days of the week, another on others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from tradewind.operators.branch import BaseBranchOperator, as_task_id_list
from tradewind.timetables.weekday import WeekDay


def today_or_logical_date(
    task: Any, context: Mapping[str, Any], use_logical_date: bool
) -> dt.datetime:
    """The run's logical date (as the context gives it), or now in the DAG's time zone."""
    if use_logical_date:
        value = context["logical_date"]
        if not isinstance(value, dt.datetime):
            raise TypeError(f"logical_date in the context is not a datetime: {value!r}")
        return value
    dag = task.dag
    zone = dag.timezone if dag is not None else dt.UTC
    return dt.datetime.now(zone)


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` when today is one of ``week_day``, else
    ``follow_task_ids_if_false``; the other direct downstream tasks are skipped.

    ``week_day`` is a day name (``"Monday"``, any case), a :class:`WeekDay`, or a set of
    them. With ``use_task_logical_date=True`` the run's logical date decides (useful for
    backfills); otherwise today's date in the DAG's time zone does.
    ``use_task_execution_day`` is Airflow 2's older name of ``use_task_logical_date``.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        use_task_execution_day: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.follow_task_ids_if_true = as_task_id_list(
                "follow_task_ids_if_true", follow_task_ids_if_true
            )
            self.follow_task_ids_if_false = as_task_id_list(
                "follow_task_ids_if_false", follow_task_ids_if_false
            )
            self._week_day_numbers = WeekDay.validate_week_day(week_day)
        except (TypeError, ValueError) as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        self.week_day = week_day
        self.use_task_logical_date = bool(use_task_logical_date or use_task_execution_day)

    def choose_branch(self, context: Mapping[str, Any]) -> list[str]:
        day = today_or_logical_date(self, context, self.use_task_logical_date)
        if day.isoweekday() in self._week_day_numbers:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false
