"""Dynamic task mapping: tasks that get one instance per item of data known only at run time.

A small inventory check. ``list_warehouses`` decides at run time which warehouses exist; the
scheduler then creates one ``count_stock`` instance per warehouse (named after it in the UI
through ``map_index_template``), and ``report`` adds up what all of them returned. Next to it:
a fixed list with a shared argument (``partial``), a classic operator mapped over commands,
instances described by whole argument dicts (``expand_kwargs``), a cross product of two lists,
and a task group whose two steps run once per region.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind import DAG, task, task_group
from tradewind.operators import BashOperator

with DAG(
    "example_mapping",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mapping"],
    doc_md=__doc__,
) as dag:

    @task
    def list_warehouses() -> list[str]:
        """In a real pipeline this would ask an API; the list's length decides the fan-out."""
        return ["north", "south", "east"]

    @task(map_index_template="{{ task.op_kwargs['warehouse'] }}")
    def count_stock(warehouse: str, unit: str) -> int:
        counts = {"north": 120, "south": 75, "east": 230}
        print(f"{warehouse}: {counts.get(warehouse, 0)} {unit}")
        return counts.get(warehouse, 0)

    @task
    def report(stock: Any) -> int:
        """``stock`` holds one value per instance, in map-index order, read as it is used."""
        total = int(sum(stock))
        print(f"{len(stock)} warehouses hold {total} items")
        return total

    stock = count_stock.partial(unit="pallets").expand(warehouse=list_warehouses())
    report(stock)

    # A classic operator: arguments shared by every instance go to partial().
    BashOperator.partial(task_id="say", retries=1).expand(
        bash_command=["echo restock {{ ds }}", "echo audit {{ ds }}"]
    )

    @task
    def ship(carrier: str, crates: int = 1) -> str:
        return f"{crates} crates by {carrier}"

    # One instance per dict of arguments.
    ship.expand_kwargs([{"carrier": "rail", "crates": 4}, {"carrier": "road"}])

    # Two expanded arguments: every combination (2 x 2 = 4 instances).
    ship.override(task_id="ship_all").expand(carrier=["rail", "road"], crates=[1, 2])

    @task
    def fetch_orders(region: str) -> list[str]:
        return [f"{region}-{n}" for n in range(2)]

    @task
    def confirm(orders: list[str]) -> int:
        print("confirming", orders)
        return len(orders)

    @task_group
    def per_region(region: str) -> Any:
        """Both steps run once per region; each confirm sees its own region's orders."""
        return confirm(fetch_orders(region))

    per_region.expand(region=["eu", "us"])
