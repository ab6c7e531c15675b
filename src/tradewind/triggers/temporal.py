"""Triggers that fire at a moment: :class:`DateTimeTrigger` and :class:`TimeDeltaTrigger`
(Airflow's ``airflow.triggers.temporal``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from tradewind.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

# The longest single sleep: waking now and then keeps a long wait close to the wall clock
# (the event loop's sleeps follow a monotonic clock) and costs nothing worth counting.
MAX_SLEEP = 60.0


def _aware_utc(moment: Any) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"moment must be a datetime, not {moment!r}")
    if moment.tzinfo is None:
        raise ValueError(f"moment {moment.isoformat()} needs a time zone (an aware datetime)")
    # A plain datetime in UTC (a pendulum DateTime too): what serde stores and gives back.
    return dt.datetime.fromtimestamp(moment.timestamp(), dt.UTC)


class DateTimeTrigger(BaseTrigger):
    """Fires once ``moment`` (an aware datetime) has passed; its event's payload is the
    moment. With ``end_from_trigger=True`` it ends the task as a success instead, without
    resuming it."""

    def __init__(self, moment: dt.datetime, *, end_from_trigger: bool = False) -> None:
        super().__init__()
        self.moment = _aware_utc(moment)
        self.end_from_trigger = bool(end_from_trigger)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "tradewind.triggers.temporal.DateTimeTrigger",
            {"moment": self.moment, "end_from_trigger": self.end_from_trigger},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            left = (self.moment - dt.datetime.now(dt.UTC)).total_seconds()
            if left <= 0:
                break
            await asyncio.sleep(min(left, MAX_SLEEP))
        self.log.info("%s has passed", self.moment.isoformat())
        if self.end_from_trigger:
            yield TaskSuccessEvent()
        else:
            yield TriggerEvent(self.moment)


class TimeDeltaTrigger(DateTimeTrigger):
    """Fires ``delta`` after it is created (in the task that defers): a DateTimeTrigger at
    that moment, and stored as one, so that a triggerer that restarts does not wait anew."""

    def __init__(self, delta: dt.timedelta, *, end_from_trigger: bool = False) -> None:
        if not isinstance(delta, dt.timedelta):
            raise TypeError(f"delta must be a timedelta, not {delta!r}")
        super().__init__(dt.datetime.now(dt.UTC) + delta, end_from_trigger=end_from_trigger)
