"""BaseSensorOperator: a task that waits until ``poke(context)`` says a condition holds."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradewind.authoring import values
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.exceptions import RescheduleTask, SensorTimeout, SkipTask

# Context entries the task runner provides to sensors in reschedule mode.
STARTED_AT_KEY = "sensor_started_at"
"""Aware datetime when the sensor's first try started (timeouts count from it)."""
POKE_COUNT_KEY = "sensor_poke_count"
"""How many times the sensor has been rescheduled so far (for exponential backoff)."""

VALID_MODES = ("poke", "reschedule")


@dataclass(frozen=True)
class PokeReturnValue:
    """What ``poke`` may return instead of a bool: done or not, and the XCom value when done."""

    is_done: bool
    xcom_value: Any = None

    def __bool__(self) -> bool:
        return self.is_done


class BaseSensorOperator(BaseOperator):
    """Waits for a condition: subclasses implement ``poke(context) -> bool | PokeReturnValue``.

    In ``poke`` mode the task keeps its worker slot and sleeps ``poke_interval`` between pokes;
    in ``reschedule`` mode each poke is a short try and the slot is given back in between
    (:class:`~tradewind.exceptions.RescheduleTask`). After ``timeout`` the sensor fails without
    retries, or is skipped with ``soft_fail=True``. ``exponential_backoff`` doubles the interval
    after each poke, up to ``max_wait`` (or the timeout).
    """

    is_sensor = True
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        poke_interval: dt.timedelta | float = 60,
        timeout: dt.timedelta | float = dt.timedelta(days=7),
        mode: str = "poke",
        soft_fail: bool = False,
        exponential_backoff: bool = False,
        max_wait: dt.timedelta | float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in VALID_MODES:
            raise self._error(
                f"task {self.task_id!r}: unknown sensor mode {mode!r}; use 'poke' or 'reschedule'"
            )
        try:
            self.poke_interval = values.as_timedelta("poke_interval", poke_interval).total_seconds()
            self.timeout = values.as_timedelta("timeout", timeout).total_seconds()
            wait = values.as_optional_timedelta("max_wait", max_wait)
        except ValueError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        self.max_wait = wait.total_seconds() if wait is not None else None
        self.mode = mode
        self.soft_fail = bool(soft_fail)
        self.exponential_backoff = bool(exponential_backoff)

    def poke(self, context: Mapping[str, Any]) -> bool | PokeReturnValue:
        """Check the condition once; True (or a done PokeReturnValue) ends the wait."""
        raise NotImplementedError(f"{type(self).__name__} must implement poke(context)")

    def next_poke_interval(self, poke_count: int) -> float:
        """Seconds to wait after the ``poke_count``-th unsuccessful poke (counting from 0)."""
        if not self.exponential_backoff:
            return self.poke_interval
        ceiling = self.max_wait if self.max_wait is not None else self.timeout
        return float(min(self.poke_interval * 2 ** min(poke_count, 62), ceiling))

    def execute(self, context: Mapping[str, Any]) -> Any:
        if self.mode == "reschedule":
            return self._execute_reschedule(context)
        started = time.monotonic()
        poke_count = 0
        while True:
            result = self.poke(context)
            if result:
                return result.xcom_value if isinstance(result, PokeReturnValue) else None
            elapsed = time.monotonic() - started
            if elapsed >= self.timeout:
                self._timed_out(elapsed)
            time.sleep(min(self.next_poke_interval(poke_count), self.timeout - elapsed))
            poke_count += 1

    def _execute_reschedule(self, context: Mapping[str, Any]) -> Any:
        now = dt.datetime.now(dt.UTC)
        started = context.get(STARTED_AT_KEY) or now
        result = self.poke(context)
        if result:
            return result.xcom_value if isinstance(result, PokeReturnValue) else None
        elapsed = (now - started).total_seconds()
        if elapsed >= self.timeout:
            self._timed_out(elapsed)
        delay = self.next_poke_interval(int(context.get(POKE_COUNT_KEY, 0)))
        raise RescheduleTask(now + dt.timedelta(seconds=delay))

    def _timed_out(self, elapsed: float) -> None:
        message = (
            f"sensor {self.task_id!r} timed out after {elapsed:.0f}s (timeout {self.timeout:.0f}s)"
        )
        if self.soft_fail:
            raise SkipTask(message)
        raise SensorTimeout(message)
