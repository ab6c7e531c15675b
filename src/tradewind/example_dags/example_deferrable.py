"""Deferrable tasks: waits that hold no worker slot while they wait.

``settle`` is a TimeDeltaSensor with ``deferrable=True``: it hands a DateTimeTrigger to the
triggerer and leaves. ``countdown`` is a custom operator that defers on a custom trigger and
goes on in ``finish`` with the trigger's event. ``wait_for_report`` is a deferrable
FileSensor waiting for the file that ``write_report`` makes.

Run a single task with ``tradewind tasks test example_deferrable countdown``: without a
triggerer, the trigger runs in that process until it fires.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from tradewind import DAG
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.operators import BashOperator
from tradewind.sensors import FileSensor, TimeDeltaSensor
from tradewind.triggers.base import BaseTrigger, TriggerEvent

REPORT = "/tmp/tradewind_example_deferrable_report"


class CountdownTrigger(BaseTrigger):
    """Fires after ``seconds``, with a payload saying how long it counted."""

    def __init__(self, seconds: float, label: str) -> None:
        super().__init__()
        self.seconds = seconds
        self.label = label

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # The triggerer imports the class by this path, so it is the package path of this
        # file, not the name the DAG processor gives the module it loads. Triggers of your
        # own go in a module beside your DAG files or in a package you install.
        return (
            "tradewind.example_dags.example_deferrable.CountdownTrigger",
            {"seconds": self.seconds, "label": self.label},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(self.seconds)  # never time.sleep: it would stall every trigger
        yield TriggerEvent({"label": self.label, "counted": self.seconds})


class CountdownOperator(BaseOperator):
    """Counts down in the triggerer, then reports what the trigger sent."""

    def __init__(self, *, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def execute(self, context: Mapping[str, Any]) -> None:
        self.defer(
            trigger=CountdownTrigger(self.seconds, label=context["ds"]),
            method_name="finish",
            kwargs={"started": context["ts"]},
            timeout=timedelta(minutes=10),
        )

    def finish(self, context: Mapping[str, Any], started: str, event: dict[str, Any]) -> str:
        return f"counted {event['counted']} s for {event['label']} (run started {started})"


with DAG(
    "example_deferrable",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "deferrable"],
) as dag:
    settle = TimeDeltaSensor(task_id="settle", delta=timedelta(seconds=30), deferrable=True)
    countdown = CountdownOperator(task_id="countdown", seconds=5)
    write_report = BashOperator(task_id="write_report", bash_command=f"date > {REPORT}")
    wait_for_report = FileSensor(
        task_id="wait_for_report",
        filepath=REPORT,
        deferrable=True,
        poke_interval=2,
        timeout=timedelta(minutes=30),
    )

    settle >> countdown >> [write_report, wait_for_report]
