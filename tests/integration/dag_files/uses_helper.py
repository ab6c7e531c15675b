"""A DAG file that imports a helper module sitting in the DAGs folder."""

from datetime import datetime

import dag_helpers

from tradewind import DAG, chain
from tradewind.operators import EmptyOperator

with DAG(
    "uses_helper",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    tags=dag_helpers.DEFAULT_TAGS,
):
    chain(*[EmptyOperator(task_id=task_id) for task_id in dag_helpers.task_ids(3)])
