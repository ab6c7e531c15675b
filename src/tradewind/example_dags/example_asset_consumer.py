"""Data-aware scheduling, the consuming side: runs whenever the orders asset is updated.

``schedule=[ORDERS]`` makes this DAG run once ``example_asset_producer`` (or anything else: the
API's ``POST /api/v1/assets/events``, ``tradewind assets event``) updated the asset, not on a
clock. Each run sees the events that triggered it in ``triggering_asset_events``. Scheduling
on several assets waits for all of them (``[a, b]`` or ``a & b``); ``a | b`` runs on either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tradewind import DAG, Asset, task

ORDERS = Asset(name="orders", uri="file:///tmp/tradewind_example_assets/orders.json", group="sales")


with DAG("example_asset_consumer", schedule=[ORDERS], tags=["example", "assets"]):

    @task
    def summarize(*, triggering_asset_events: Any) -> dict[str, Any]:
        events = triggering_asset_events[ORDERS]
        for event in events:
            source = event.source_dag_id or "outside"
            print(f"{event.asset.uri} updated at {event.timestamp} by {source}: {event.extra}")
        path = Path("/tmp/tradewind_example_assets/orders.json")
        orders = json.loads(path.read_text()) if path.exists() else []
        return {"updates": len(events), "total": sum(order["amount"] for order in orders)}

    summarize()
