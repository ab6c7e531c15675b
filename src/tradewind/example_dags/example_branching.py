"""Branching: one path runs on weekdays, another at weekends, and both join again.

The join uses the ``none_failed_min_one_success`` trigger rule, so the skipped branch does not
skip it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind import DAG, TriggerRule
from tradewind.operators import BashOperator, BranchPythonOperator, EmptyOperator


def choose_path(logical_date: datetime, **context: Any) -> str:
    return "weekend_report" if logical_date.weekday() >= 5 else "weekday_report"


with DAG(
    "example_branching",
    schedule="@daily",
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "branching"],
) as dag:
    start = EmptyOperator(task_id="start")
    branch = BranchPythonOperator(task_id="choose_path", python_callable=choose_path)
    weekday = BashOperator(task_id="weekday_report", bash_command="echo full report")
    weekend = BashOperator(task_id="weekend_report", bash_command="echo short report")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    publish = EmptyOperator(task_id="publish")

    start >> branch >> [weekday, weekend] >> join >> publish
