"""Branching with BranchPythonOperator, a join with a trigger rule, and @task.branch."""

from datetime import datetime

from airflow import DAG
from airflow.decorators import task
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.utils.trigger_rule import TriggerRule

with DAG("branching", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    choose = BranchPythonOperator(task_id="choose", python_callable=lambda: "left")
    left = EmptyOperator(task_id="left")
    right = EmptyOperator(task_id="right")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    strict_join = EmptyOperator(task_id="strict_join")

    @task.branch
    def pick():
        return ["second"]

    first = EmptyOperator(task_id="first")
    second = EmptyOperator(task_id="second")

    choose >> [left, right]
    left >> join
    right >> join
    [left, right] >> strict_join
    join >> pick() >> [first, second]
