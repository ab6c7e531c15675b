"""Airflow 2's SubDagOperator, which Airflow 3 removed: the import error names its
replacement, the TaskGroup."""

from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.subdag import SubDagOperator


def section(parent_dag_id, child_id, args):
    with DAG(f"{parent_dag_id}.{child_id}", default_args=args, schedule="@once") as child:
        EmptyOperator(task_id="inside")
    return child


with DAG("subdag_parent", start_date=datetime(2024, 1, 1), schedule="@once") as parent:
    SubDagOperator(task_id="section", subdag=section("subdag_parent", "section", {}))
