"""A DAG whose tasks form a cycle."""

from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG("bad_cycle", schedule=None, start_date=datetime(2024, 1, 1)):
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> b >> c >> a
