"""Two tasks with the same task_id; the second is on line 10."""

from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG("bad_duplicate_task", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="same")
    EmptyOperator(task_id="same")
