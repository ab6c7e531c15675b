"""Running a deferred task's trigger in this process, for ``tasks test`` (no triggerer).

:func:`wait` builds the trigger from its stored form, as the triggerer does, runs it in an
asyncio loop of its own until its first event (or its timeout), and says how the task goes
on: the method and kwargs to resume with, as the triggerer would store them, or the state a
task-ending event (``TaskSuccessEvent``...) gives it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from tradewind import reports
from tradewind.runtime import deferral
from tradewind.states import TaskState
from tradewind.triggers import serde
from tradewind.triggers.base import BaseTrigger, TriggerEvent, task_end_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resumption:
    """How a deferred task goes on: resumed in ``next_method`` with ``next_kwargs`` (serde
    JSON), or ended in ``end_state`` by its trigger (``next_method`` None then)."""

    next_method: str | None = None
    next_kwargs: dict[str, Any] | None = None
    end_state: TaskState | None = None


def wait(found: reports.Deferral) -> Resumption:
    """Run the trigger of ``found`` here until it fires, fails or times out."""
    trigger = deferral.check_trigger(found.classpath, found.kwargs)
    log.info("Running trigger %r here until it fires (no triggerer in a test)", trigger)
    try:
        event = asyncio.run(_first_event(trigger, found.timeout))
    except TimeoutError:
        error = f"the trigger did not fire within the deferral's timeout of {found.timeout:g} s"
        log.error("%s", error)
        return Resumption(reports.FAIL_METHOD, {"error": error, "timeout": True})
    except Exception as exc:
        log.error("The trigger raised", exc_info=exc)
        return Resumption(reports.FAIL_METHOD, {"error": f"{type(trigger).__name__}: {exc}"})
    if event is None:
        error = f"trigger {found.classpath} ended without firing an event"
        return Resumption(reports.FAIL_METHOD, {"error": error})
    log.info("The trigger fired %r", event)
    end_state = task_end_state(event)
    if end_state is not None:
        return Resumption(end_state=end_state)
    kwargs = dict(found.method_kwargs or {})
    kwargs["event"] = serde.encode(event.payload)
    return Resumption(found.method, kwargs)


async def _first_event(trigger: BaseTrigger, timeout: float | None) -> TriggerEvent | None:
    events = trigger.run()
    try:
        async with asyncio.timeout(timeout):
            async for event in events:
                if not isinstance(event, TriggerEvent):
                    raise TypeError(f"a trigger yields TriggerEvents, not {event!r}")
                return event
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
        await trigger.cleanup()
    return None
