"""``deferrable=True`` on sensors: wait in the triggerer instead of in a worker slot.

A deferrable sensor pokes once; if its condition does not hold yet, it defers at once with
the trigger :meth:`DeferrableSensor.trigger_for` gives, for at most its ``timeout``, and
resumes in :meth:`DeferrableSensor.execute_complete` when the trigger fires. A trigger that
does not fire in time fails the sensor as a poking sensor's timeout does (SensorTimeout, no
retries), or skips it with ``soft_fail``. With ``deferrable=False`` (the default) the sensor
pokes as its ``mode`` says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tradewind.exceptions import SkipTask, TaskDeferralError, TaskDeferralTimeout
from tradewind.sensors.base import BaseSensorOperator, PokeReturnValue
from tradewind.triggers.base import BaseTrigger

COMPLETE_METHOD = "execute_complete"


class DeferrableSensor(BaseSensorOperator):
    """A sensor that takes Airflow's ``deferrable`` argument; subclasses give the trigger."""

    def __init__(self, *, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = bool(deferrable)

    def execute(self, context: Mapping[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        result = self.poke(context)
        if not result:
            self.defer(
                trigger=self.trigger_for(context),
                method_name=COMPLETE_METHOD,
                timeout=dt.timedelta(seconds=self.timeout),
            )
        return result.xcom_value if isinstance(result, PokeReturnValue) else None

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        """The trigger that fires when the condition holds (called when it does not yet)."""
        raise NotImplementedError(f"{type(self).__name__} cannot defer: it has no trigger")

    def execute_complete(self, context: Mapping[str, Any], event: Any = None) -> Any:
        """Called when the trigger fired: the wait is over (the sensor succeeds)."""
        return None

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Mapping[str, Any]
    ) -> Any:
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout:
            self._timed_out(self.timeout)
        except TaskDeferralError as exc:
            if self.soft_fail:
                raise SkipTask(f"sensor {self.task_id!r}: {exc}") from exc
            raise
        return None
