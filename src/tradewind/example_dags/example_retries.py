"""Retries: a flaky call retried with exponential backoff, and timeouts on tasks and runs."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tradewind import DAG
from tradewind.operators import BashOperator, PythonOperator


def call_flaky_service() -> str:
    """Fails about half of the time, like a busy remote service."""
    if random.random() < 0.5:
        raise ConnectionError("the service is busy, try again later")
    return "ok"


with DAG(
    "example_retries",
    schedule=timedelta(hours=6),
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    dagrun_timeout=timedelta(hours=2),
    max_active_runs=1,
    tags=["example", "retries"],
) as dag:
    flaky = PythonOperator(
        task_id="call_flaky_service",
        python_callable=call_flaky_service,
        retries=5,
        retry_delay=timedelta(seconds=10),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=1),
    )
    slow = BashOperator(
        task_id="bounded_command",
        bash_command="sleep 1 && echo done",
        execution_timeout=timedelta(seconds=30),
        retries=2,
        priority_weight=10,
    )
    flaky >> slow
