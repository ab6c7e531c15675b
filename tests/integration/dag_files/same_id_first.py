"""Defines dag_id "same_id"; same_id_second.py defines it too."""

from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG("same_id", schedule=None, start_date=datetime(2024, 1, 1), tags=["first"]):
    EmptyOperator(task_id="first")
