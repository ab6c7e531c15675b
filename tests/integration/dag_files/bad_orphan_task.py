"""A good DAG, and a task created outside any DAG on line 11."""

from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG("bad_orphan_task", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="inside")

EmptyOperator(task_id="outside")
