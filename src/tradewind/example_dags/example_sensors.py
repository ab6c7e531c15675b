"""Sensors: wait a while after the data interval ends, then for a marker file to appear.

The sensors run in ``reschedule`` mode, so they give their worker slot back between pokes.
``produce`` writes the marker beside them, so the example finishes on its own.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from tradewind import DAG, task
from tradewind.operators import BashOperator
from tradewind.sensors import PokeReturnValue, PythonSensor, TimeDeltaSensor

MARKER = "/tmp/tradewind_example_ready"


def marker_exists() -> bool:
    return os.path.exists(MARKER)


with DAG(
    "example_sensors",
    schedule="@daily",
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "sensors"],
) as dag:
    settle = TimeDeltaSensor(
        task_id="wait_30_minutes",
        delta=timedelta(minutes=30),
        mode="reschedule",
        poke_interval=timedelta(minutes=5),
    )
    wait_for_marker = PythonSensor(
        task_id="wait_for_marker",
        python_callable=marker_exists,
        mode="reschedule",
        poke_interval=5,
        timeout=timedelta(hours=6),
        soft_fail=True,
    )

    @task.sensor(poke_interval=30, timeout=600, mode="reschedule")
    def wait_for_size() -> PokeReturnValue:
        size = os.path.getsize(MARKER) if os.path.exists(MARKER) else 0
        return PokeReturnValue(is_done=size > 0, xcom_value=size)

    produce = BashOperator(task_id="produce", bash_command=f"sleep 2 && date > {MARKER}")
    process = BashOperator(task_id="process", bash_command=f"cat {MARKER}")

    settle >> [produce, wait_for_marker]
    wait_for_marker >> wait_for_size() >> process
