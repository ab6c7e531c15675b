"""Airflow 2 style: classic operators, default_args, days_ago, templated bash, XCom by hand."""

from datetime import timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.utils.dates import days_ago

default_args = {
    "owner": "data",
    "retries": 1,
    "retry_delay": timedelta(seconds=0),
}


def produce(**context):
    context["ti"].xcom_push(key="rows", value=3)
    return {"source": "orders", "day": context["ds"]}


def consume(ti, **_):
    summary = ti.xcom_pull(task_ids="produce")
    rows = ti.xcom_pull(task_ids="produce", key="rows")
    if summary["source"] != "orders" or rows != 3:
        raise ValueError(f"unexpected {summary} {rows}")
    return rows * 2


with DAG(
    dag_id="classic_bash_python",
    default_args=default_args,
    description="classic operators",
    schedule_interval="@daily",
    start_date=days_ago(2),
    catchup=False,
    tags=["example"],
) as dag:
    hello = BashOperator(task_id="hello", bash_command="echo hello {{ ds }} {{ dag.dag_id }}")
    produce_task = PythonOperator(task_id="produce", python_callable=produce)
    consume_task = PythonOperator(task_id="consume", python_callable=consume)
    hello >> produce_task >> consume_task
