"""A DAG scheduled on datasets: its file's import error says this is not provided yet."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.empty import EmptyOperator

with DAG(
    "datasets_consumer",
    start_date=datetime(2024, 1, 1),
    schedule=[Dataset("s3://warehouse/orders"), Dataset("s3://warehouse/customers")],
):
    EmptyOperator(task_id="report")
