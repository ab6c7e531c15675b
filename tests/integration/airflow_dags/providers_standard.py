"""Airflow 3 spellings: operators from airflow.providers.standard, the sdk's DAG and TaskGroup."""

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup, chain

with DAG(
    dag_id="providers_standard",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris"),
    catchup=False,
):
    start = EmptyOperator(task_id="start")
    with TaskGroup("work") as work:
        a = BashOperator(task_id="a", bash_command="echo a")
        b = PythonOperator(task_id="b", python_callable=lambda: "b")
        a >> b
    end = EmptyOperator(task_id="end")
    chain(start, work, end)
