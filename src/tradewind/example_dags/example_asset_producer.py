"""Data-aware scheduling, the producing side: each run writes a daily orders file and says so.

``write_orders`` has the orders asset among its outlets: when it succeeds, tradewind records an
asset event for it (with the ``extra`` the task attached through ``outlet_events``), and every
DAG scheduled on that asset (``example_asset_consumer``) is queued to run at once. A failed try
records nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tradewind import DAG, Asset, task

ORDERS = Asset(name="orders", uri="file:///tmp/tradewind_example_assets/orders.json", group="sales")


with DAG(
    "example_asset_producer",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "assets"],
):

    @task(outlets=[ORDERS])
    def write_orders(*, ds: str, outlet_events: Any) -> int:
        orders = [{"id": n, "day": ds, "amount": 10 * n} for n in range(1, 6)]
        path = Path("/tmp/tradewind_example_assets/orders.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(orders))
        # Attached to this update's event; consumers read it in triggering_asset_events.
        outlet_events[ORDERS].extra.update({"rows": len(orders), "day": ds})
        return len(orders)

    write_orders()
