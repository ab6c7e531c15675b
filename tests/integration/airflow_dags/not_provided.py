"""A provider tradewind does not ship: the file's import error says so."""

from datetime import datetime

from airflow import DAG
from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator

with DAG("not_provided", start_date=datetime(2024, 1, 1), schedule=None):
    S3CreateBucketOperator(task_id="bucket", bucket_name="b")
