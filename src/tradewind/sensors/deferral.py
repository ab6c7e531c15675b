"""``deferrable=True`` on sensors that Airflow can defer: accepted, and the sensor pokes.

tradewind has no triggerer yet, so a sensor asked to defer waits the way its ``mode`` says
(poke or reschedule) instead; the outcome is the same, only the worker slot is not freed in
poke mode. The first poke's log says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tradewind.sensors.base import BaseSensorOperator

log = logging.getLogger(__name__)


class DeferrableSensor(BaseSensorOperator):
    """A sensor that takes Airflow's ``deferrable`` argument and waits by poking either way."""

    def __init__(self, *, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = bool(deferrable)

    def execute(self, context: Mapping[str, Any]) -> Any:
        if self.deferrable:
            log.info(
                "deferrable=True: tradewind has no triggerer yet, so this sensor waits in "
                "%s mode instead",
                self.mode,
            )
        return super().execute(context)
