"""A daily chain of three tasks, tagged, for the happy path."""

from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG(
    "good_chain",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    tags=["sample", "chain"],
    description="three tasks in a line",
):
    extract = EmptyOperator(task_id="extract")
    transform = EmptyOperator(task_id="transform")
    load = EmptyOperator(task_id="load")
    extract >> transform >> load
