"""A DAG scheduled on datasets (Airflow 2 spelling): it runs once both were updated, and reads
the events that triggered it."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.decorators import task

with DAG(
    "datasets_consumer",
    start_date=datetime(2024, 1, 1),
    schedule=[Dataset("s3://warehouse/orders"), Dataset("s3://warehouse/customers")],
):

    @task
    def report(triggering_dataset_events=None):
        return sorted(uri for uri in triggering_dataset_events)

    report()
