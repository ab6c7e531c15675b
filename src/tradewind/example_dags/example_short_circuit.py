"""Short-circuiting: skip the rest of the pipeline when there is nothing new to do."""

from __future__ import annotations

from datetime import datetime

from tradewind import DAG, task
from tradewind.operators import EmptyOperator, ShortCircuitOperator

with DAG(
    "example_short_circuit",
    schedule="*/30 * * * *",
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "short_circuit"],
) as dag:
    is_business_hours = ShortCircuitOperator(
        task_id="is_business_hours",
        python_callable=lambda logical_date: 8 <= logical_date.hour < 18,
    )

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def has_new_files() -> bool:
        return False

    sync = EmptyOperator(task_id="sync")
    # has_new_files only skips its direct downstream task (sync); audit then follows its own
    # trigger rule and still runs. is_business_hours, outside business hours, skips them all.
    audit = EmptyOperator(task_id="audit", trigger_rule="all_done")

    is_business_hours >> has_new_files() >> sync >> audit
