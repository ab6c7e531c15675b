"""Sensors that finish (python, bash, time delta) and the trigger rules Airflow users lean on."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.sensors.bash import BashSensor
from airflow.sensors.python import PythonSensor
from airflow.sensors.time_delta import TimeDeltaSensor
from airflow.utils.trigger_rule import TriggerRule


def broken():
    raise AirflowException("the upstream system said no")


with DAG("sensors_and_rules", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    poke = PythonSensor(task_id="python_sensor", python_callable=lambda: True, poke_interval=1)
    bash = BashSensor(task_id="bash_sensor", bash_command="test 1 -eq 1", poke_interval=1)
    delta = TimeDeltaSensor(task_id="delta", delta=timedelta(seconds=0))
    fails = PythonOperator(task_id="fails", python_callable=broken, retries=0)
    on_failure = EmptyOperator(task_id="on_failure", trigger_rule=TriggerRule.ONE_FAILED)
    on_success = EmptyOperator(task_id="on_success", trigger_rule=TriggerRule.ALL_SUCCESS)
    always = BashOperator(task_id="always", bash_command="echo done", trigger_rule="all_done")
    [poke, bash, delta] >> on_success
    fails >> [on_failure, always]
    on_success >> always
