"""A DAG that updates datasets (Airflow 2 spelling) and assets (Airflow 3): each success
records an event, and the DAGs scheduled on them run (see datasets_consumer.py)."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator
from airflow.sdk import Asset

ORDERS = Dataset("s3://warehouse/orders")
CUSTOMERS = Asset(name="customers", uri="s3://warehouse/customers")

with DAG("datasets_producer", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="export_orders", bash_command="echo orders", outlets=[ORDERS])
    BashOperator(task_id="export_customers", bash_command="echo customers", outlets=[CUSTOMERS])
