"""Airflow 2 habits: schedule_interval, concurrency=, execution_date in templates, DummyOperator,
the *_operator module names, provide_context-free callables reading **kwargs."""

from datetime import timedelta

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import PythonOperator
from airflow.utils.dates import days_ago


def old_keys(**kwargs):
    execution_date = kwargs["execution_date"]
    next_date = kwargs["next_execution_date"]
    assert next_date >= execution_date
    assert kwargs["ds"] == execution_date.strftime("%Y-%m-%d")
    return kwargs["yesterday_ds"]


dag = DAG(
    "airflow2_leftovers",
    schedule_interval=timedelta(days=1),
    start_date=days_ago(1),
    concurrency=4,
    max_active_runs=1,
    catchup=False,
)

start = DummyOperator(task_id="start", dag=dag)
keys = PythonOperator(task_id="old_keys", python_callable=old_keys, dag=dag)
echo = BashOperator(task_id="echo", bash_command="echo {{ execution_date }} {{ ts }}", dag=dag)
start >> keys >> echo
