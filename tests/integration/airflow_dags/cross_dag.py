"""One DAG triggers another at its own logical date and waits for it; a sensor then checks
the child's task at that date; an edge label names the wait."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sensors.external_task import ExternalTaskSensor
from airflow.utils.edgemodifier import Label

with DAG("cross_dag_target", start_date=datetime(2024, 1, 1), schedule=None) as target:
    BashOperator(task_id="greet", bash_command="echo from {{ dag_run.conf.get('who', 'nobody') }}")

with DAG("cross_dag_parent", start_date=datetime(2024, 1, 1), schedule=None) as parent:
    trigger = TriggerDagRunOperator(
        task_id="trigger",
        trigger_dag_id="cross_dag_target",
        conf={"who": "parent"},
        logical_date="{{ logical_date }}",
        wait_for_completion=True,
        poke_interval=1,
    )
    wait = ExternalTaskSensor(
        task_id="wait_for_greet",
        external_dag_id="cross_dag_target",
        external_task_id="greet",
        poke_interval=1,
        timeout=60,
        mode="reschedule",
    )
    done = BashOperator(task_id="done", bash_command="echo done")
    trigger >> Label("after the child run") >> wait >> done
