"""A TaskFlow ETL: extract, transform and load pass their results along as XComs."""

from __future__ import annotations

import json
from datetime import datetime

from tradewind import dag, task


@dag(
    schedule="@daily",
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "taskflow"],
)
def example_taskflow_etl() -> None:
    """Sum the values of a small order list and report the total and the average."""

    @task
    def extract() -> dict[str, float]:
        raw = '{"1001": 301.27, "1002": 433.21, "1003": 502.22}'
        loaded: dict[str, float] = json.loads(raw)
        return loaded

    @task(multiple_outputs=True)
    def transform(orders: dict[str, float]) -> dict[str, float]:
        total = sum(orders.values())
        return {"total": total, "average": total / len(orders)}

    @task
    def load(total: float, average: float) -> None:
        print(f"total order value {total:.2f}, average {average:.2f}")

    summary = transform(extract())
    load(summary["total"], summary["average"])


example_taskflow_etl()
