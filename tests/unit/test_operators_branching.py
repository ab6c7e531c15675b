"""LatestOnly, BranchDayOfWeek and BranchDateTime: which downstream tasks each one follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tradewind import DAG
from tradewind.exceptions import DagDefinitionError, SkipDownstream
from tradewind.operators import (
    BaseBranchOperator,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    EmptyOperator,
    LatestOnlyOperator,
)
from tradewind.operators.date_time import target_times_as_dates
from tradewind.runtime.context import DagRunView
from tradewind.timetables.weekday import WeekDay

UTC = dt.UTC
MIDNIGHT = dt.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def skipped(task: BaseBranchOperator, context: dict[str, Any]) -> set[str]:
    """The downstream task ids ``task`` skips in ``context`` (empty: it follows them all)."""
    try:
        task.execute(context)
    except SkipDownstream as exc:
        return set(exc.task_ids)
    return set()


def run_view(start: dt.datetime, end: dt.datetime, run_type: str = "scheduled") -> DagRunView:
    return DagRunView(
        dag_id="d",
        run_id=f"{run_type}__{start.isoformat()}",
        logical_date=start,
        data_interval_start=start,
        data_interval_end=end,
        run_type=run_type,
        external_trigger=run_type == "manual",
    )


def latest_only_dag(schedule: Any = "@daily") -> LatestOnlyOperator:
    with DAG("d", schedule=schedule, start_date=MIDNIGHT - dt.timedelta(days=10)):
        latest = LatestOnlyOperator(task_id="latest")
        latest >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    return latest


def test_latest_only_follows_in_the_latest_scheduled_run() -> None:
    latest = latest_only_dag()
    run = run_view(MIDNIGHT - dt.timedelta(days=1), MIDNIGHT)
    assert skipped(latest, {"dag_run": run}) == set()


def test_latest_only_skips_its_direct_downstream_in_an_older_run() -> None:
    latest = latest_only_dag()
    run = run_view(MIDNIGHT - dt.timedelta(days=3), MIDNIGHT - dt.timedelta(days=2))
    assert skipped(latest, {"dag_run": run}) == {"a", "b"}


def test_latest_only_never_skips_in_a_manual_run() -> None:
    latest = latest_only_dag()
    old = MIDNIGHT - dt.timedelta(days=5)
    assert skipped(latest, {"dag_run": run_view(old, old, "manual")}) == set()


def test_latest_only_follows_when_the_schedule_has_no_next_run() -> None:
    latest = latest_only_dag(schedule="@once")
    old = MIDNIGHT - dt.timedelta(days=5)
    assert skipped(latest, {"dag_run": run_view(old, old)}) == set()


def week_branch(week_day: Any, *, logical: bool = True) -> BranchDayOfWeekOperator:
    with DAG("d"):
        branch = BranchDayOfWeekOperator(
            task_id="branch",
            week_day=week_day,
            follow_task_ids_if_true="yes",
            follow_task_ids_if_false=["no"],
            use_task_logical_date=logical,
        )
        branch >> [EmptyOperator(task_id="yes"), EmptyOperator(task_id="no")]
    return branch


MONDAY = dt.datetime(2024, 1, 1, 12, tzinfo=UTC)  # 2024-01-01 was a Monday
SATURDAY = dt.datetime(2024, 1, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("week_day", "date", "skips"),
    [
        ("Monday", MONDAY, {"no"}),
        ("monday", SATURDAY, {"yes"}),
        (WeekDay.MONDAY, MONDAY, {"no"}),
        ({WeekDay.SATURDAY, WeekDay.SUNDAY}, SATURDAY, {"no"}),
        ({"Saturday", "Sunday"}, MONDAY, {"yes"}),
        (["TUESDAY", WeekDay.MONDAY], MONDAY, {"no"}),
    ],
)
def test_branch_day_of_week_on_the_logical_date(
    week_day: Any, date: dt.datetime, skips: set[str]
) -> None:
    assert skipped(week_branch(week_day), {"logical_date": date}) == skips


def test_branch_day_of_week_on_today_by_default() -> None:
    today = dt.datetime.now(UTC).isoweekday()
    branch = week_branch(WeekDay(today), logical=False)
    # The logical date is another day: today decides.
    assert skipped(branch, {"logical_date": MONDAY + dt.timedelta(days=today % 7)}) == {"no"}


def test_branch_day_of_week_refuses_an_unknown_day() -> None:
    with pytest.raises(DagDefinitionError, match="invalid week day 'Mon'"):
        week_branch("Mon")
    with pytest.raises(DagDefinitionError, match="week_day must be"):
        week_branch(set())


def test_weekday_numbers() -> None:
    assert WeekDay.get_weekday_number("sunday") == 7
    assert WeekDay.validate_week_day({"Monday", WeekDay.FRIDAY}) == {1, 5}


def time_branch(lower: Any, upper: Any, *, timezone: str = "UTC") -> BranchDateTimeOperator:
    with DAG("d", timezone=timezone):
        branch = BranchDateTimeOperator(
            task_id="branch",
            target_lower=lower,
            target_upper=upper,
            follow_task_ids_if_true=["inside"],
            follow_task_ids_if_false="outside",
            use_task_logical_date=True,
        )
        branch >> [EmptyOperator(task_id="inside"), EmptyOperator(task_id="outside")]
    return branch


@pytest.mark.parametrize(
    ("lower", "upper", "hour", "skips"),
    [
        (dt.time(10), dt.time(14), 12, {"outside"}),
        (dt.time(10), dt.time(14), 15, {"inside"}),
        (dt.time(10), dt.time(14), 9, {"inside"}),
        (None, dt.time(14), 3, {"outside"}),
        (dt.time(10), None, 23, {"outside"}),
        (dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2), 12, {"outside"}),
        (dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3), 12, {"inside"}),
    ],
)
def test_branch_date_time_window(lower: Any, upper: Any, hour: int, skips: set[str]) -> None:
    when = MONDAY.replace(hour=hour)
    assert skipped(time_branch(lower, upper), {"logical_date": when}) == skips


def test_branch_date_time_reads_times_in_the_dags_time_zone() -> None:
    branch = time_branch(dt.time(9), dt.time(11), timezone="Europe/Paris")
    # 09:30 UTC is 10:30 in Paris in January: inside.
    assert skipped(branch, {"logical_date": MONDAY.replace(hour=9, minute=30)}) == {"outside"}
    assert skipped(branch, {"logical_date": MONDAY.replace(hour=10, minute=30)}) == {"inside"}


def test_upper_time_before_lower_time_falls_on_the_next_day() -> None:
    base = dt.datetime(2024, 1, 1, 12)
    lower, upper = target_times_as_dates(base, dt.time(22), dt.time(2))
    assert (lower, upper) == (dt.datetime(2024, 1, 1, 22), dt.datetime(2024, 1, 2, 2))


def test_branch_date_time_needs_a_bound() -> None:
    with pytest.raises(DagDefinitionError, match="both None"):
        time_branch(None, None)
