"""Defines dag_id "same_id" again; same_id_first.py already does."""

from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG("same_id", schedule=None, start_date=datetime(2024, 1, 1), tags=["second"]):
    EmptyOperator(task_id="second")
