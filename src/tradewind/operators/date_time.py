"""BranchDateTimeOperator: follow one set of tasks inside a time window, another outside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from tradewind.operators.branch import BaseBranchOperator, as_task_id_list
from tradewind.operators.weekday import today_or_logical_date

Target = dt.datetime | dt.time | None


def _naive_in(value: Any, zone: dt.tzinfo, day: dt.date) -> Any:
    """An aware datetime (or time of day on ``day``) as a naive one in ``zone``; naive values
    unchanged (they are read in ``zone`` already)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, dt.time) and value.tzinfo is not None:
        moment = dt.datetime.combine(day, value).astimezone(zone)
        return moment.replace(tzinfo=None).time()
    return value


def target_times_as_dates(
    base_date: dt.datetime, lower: Target, upper: Target
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The bounds as datetimes: a time of day falls on ``base_date``'s date, and an upper time
    earlier than the lower one falls on the next day."""
    if isinstance(lower, dt.time):
        lower = dt.datetime.combine(base_date.date(), lower)
    if isinstance(upper, dt.time):
        upper = dt.datetime.combine(base_date.date(), upper)
    if lower is not None and upper is not None and upper < lower:
        upper += dt.timedelta(days=1)
    return lower, upper


class BranchDateTimeOperator(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` when the time lies between ``target_lower`` and
    ``target_upper`` (either may be None, not both), else ``follow_task_ids_if_false``.

    The bounds are datetimes or times of day; the time compared is now (or, with
    ``use_task_logical_date=True``, the run's logical date), all read in the DAG's time zone.
    ``use_task_execution_date`` is Airflow 2's older name of ``use_task_logical_date``.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        target_lower: Target,
        target_upper: Target,
        use_task_logical_date: bool = False,
        use_task_execution_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            raise self._error(
                f"task {self.task_id!r}: target_lower and target_upper are both None; "
                "give at least one"
            )
        for name, value in (("target_lower", target_lower), ("target_upper", target_upper)):
            if value is not None and not isinstance(value, dt.datetime | dt.time):
                raise self._error(
                    f"task {self.task_id!r}: {name} must be a datetime, a time or None, "
                    f"not {value!r}"
                )
        try:
            self.follow_task_ids_if_true = as_task_id_list(
                "follow_task_ids_if_true", follow_task_ids_if_true
            )
            self.follow_task_ids_if_false = as_task_id_list(
                "follow_task_ids_if_false", follow_task_ids_if_false
            )
        except ValueError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.use_task_logical_date = bool(use_task_logical_date or use_task_execution_date)

    def choose_branch(self, context: Mapping[str, Any]) -> list[str]:
        zone = self.dag.timezone if self.dag is not None else dt.UTC
        moment = today_or_logical_date(self, context, self.use_task_logical_date)
        now = moment.astimezone(zone).replace(tzinfo=None)
        lower, upper = target_times_as_dates(
            now,
            _naive_in(self.target_lower, zone, now.date()),
            _naive_in(self.target_upper, zone, now.date()),
        )
        if upper is not None and upper < now:
            return self.follow_task_ids_if_false
        if lower is not None and now < lower:
            return self.follow_task_ids_if_false
        return self.follow_task_ids_if_true
