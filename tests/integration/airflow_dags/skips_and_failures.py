"""Airflow's exceptions decide a task's end: skip, fail without retry, and trigger rules after."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator, ShortCircuitOperator


def skip_me():
    raise AirflowSkipException("nothing to do today")


def fail_hard():
    raise AirflowFailException("bad input, no retry")


with DAG(
    "skips_and_failures",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=0)},
) as dag:
    skipped = PythonOperator(task_id="skipped", python_callable=skip_me)
    after_skip = EmptyOperator(task_id="after_skip")
    failed = PythonOperator(task_id="failed", python_callable=fail_hard)
    after_fail = EmptyOperator(task_id="after_fail")
    cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    behind_gate = EmptyOperator(task_id="behind_gate")

    skipped >> after_skip
    failed >> after_fail
    [after_skip, after_fail] >> cleanup
    gate >> behind_gate
