"""Params: a manually triggered DAG whose run conf is checked against JSON Schema.

Trigger it with a conf such as ``{"table": "orders", "limit": 50}``; a bad value (a limit of
0, an unknown table) is refused before the run is created.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind import DAG, Param
from tradewind.operators import BashOperator, PythonOperator


def export(params: dict[str, Any]) -> str:
    return f"exported {params['limit']} rows of {params['table']} as {params['format']}"


with DAG(
    "example_params",
    schedule=None,
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    tags=["example", "params"],
    params={
        "table": Param("orders", description="Table to export", enum=["orders", "customers"]),
        "limit": Param(100, description="Rows to export", type="integer", minimum=1),
        "format": Param("csv", type="string", enum=["csv", "json"]),
        "notify": False,
    },
) as dag:
    run_export = PythonOperator(task_id="export", python_callable=export)
    notify = BashOperator(
        task_id="notify",
        bash_command="{% if params.notify %}echo notifying{% else %}echo quiet{% endif %}",
    )
    run_export >> notify
