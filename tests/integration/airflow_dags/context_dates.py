"""Context dates as pendulum DateTimes in the DAG's zone, macros, and Airflow 2 context keys."""

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def check(logical_date, data_interval_start, data_interval_end, ds, **context):
    day_before = logical_date.subtract(days=1)
    assert isinstance(logical_date, pendulum.DateTime), type(logical_date)
    assert day_before.to_date_string() == context["macros"].ds_add(ds, -1)
    assert data_interval_end > data_interval_start
    assert context["ds_nodash"] == ds.replace("-", "")
    return day_before.to_date_string()


with DAG(
    "context_dates",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 3, 1, tz="Europe/Berlin"),
    catchup=False,
) as dag:
    checked = PythonOperator(task_id="check", python_callable=check)
    templated = BashOperator(
        task_id="templated",
        bash_command=(
            "test '{{ macros.ds_add(ds, -1) }}' = '{{ ti.xcom_pull(task_ids=\"check\") }}'"
        ),
    )
    checked >> templated
