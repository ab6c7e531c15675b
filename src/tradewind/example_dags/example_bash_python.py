"""A classic operator DAG: a daily cron schedule, BashOperator and PythonOperator.

Every morning at 06:00 (Amsterdam time) it prints the date, builds a small report in Python
and cleans up, with default_args shared by all tasks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tradewind import DAG
from tradewind.operators import BashOperator, PythonOperator


def build_report(ds: str, **context: Any) -> dict[str, Any]:
    """Pretend to aggregate yesterday's numbers; the return value becomes the task's XCom."""
    return {"day": ds, "orders": 42, "revenue": 1234.5}


with DAG(
    "example_bash_python",
    schedule="0 6 * * *",
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    timezone="Europe/Amsterdam",
    catchup=False,
    tags=["example", "classic"],
    default_args={"owner": "data-team", "retries": 1, "retry_delay": timedelta(minutes=2)},
    doc_md=__doc__,
) as dag:
    print_date = BashOperator(task_id="print_date", bash_command="date -u")
    report = PythonOperator(task_id="build_report", python_callable=build_report)
    show = BashOperator(
        task_id="show_report",
        bash_command="echo 'report for {{ ds }}: {{ ti.xcom_pull(task_ids=\"build_report\") }}'",
    )
    cleanup = BashOperator(task_id="cleanup", bash_command="echo cleaning up", retries=0)

    print_date >> report >> show >> cleanup
