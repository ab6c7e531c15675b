"""What a trigger is: a class whose ``async run()`` yields :class:`TriggerEvent` when what a
deferred task waits for has happened, and whose ``serialize()`` says how to build it again in
the triggerer (its class path and keyword arguments), as Airflow's ``BaseTrigger``."""

from __future__ import annotations

import abc
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tradewind import reports
from tradewind.exceptions import TradewindError
from tradewind.states import TaskState
from tradewind.tasklogs import LoggingMixin
from tradewind.triggers import serde


class TriggerError(TradewindError):
    """A trigger that cannot be built from its class path and arguments."""


class BaseTrigger(abc.ABC, LoggingMixin):
    """Base class of every trigger.

    A trigger exists twice: in the task that defers (``self.defer(trigger=...)``), where only
    :meth:`serialize` is called, and in the triggerer, rebuilt from what that returned, where
    :meth:`run` is awaited. Its arguments must therefore survive :mod:`tradewind.triggers.serde`
    (JSON values, datetimes, timedeltas, dates, tuples and sets).
    """

    def __init__(self, **kwargs: Any) -> None:
        # Set by the triggerer when it runs the trigger (None in the deferring task).
        self.trigger_id: int | None = None
        self.task_instance: Any = None

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """``(class path, keyword arguments)`` that rebuild this trigger elsewhere."""

    @abc.abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait (without blocking the loop) and yield an event when the condition is met.

        Written as ``async def run(self): ... yield TriggerEvent(...)``. A single-event trigger
        yields once and returns.
        """

    async def cleanup(self) -> None:
        """Called when the triggerer stops running this trigger (fired, cancelled, moved)."""

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        return f"<{classpath} {shown}>"


class BaseEventTrigger(BaseTrigger):
    """A trigger that can watch an asset (``AssetWatcher(name, trigger)``, Airflow's
    event-driven scheduling): the triggerer runs it for as long as a DAG is scheduled on the
    asset, records an update of the asset for each event it yields, and runs it again when its
    ``run()`` ends. It must therefore fire once per outside event (a message taken off a queue,
    a file that it removes), not again and again on the same state."""

    def watcher_json(self) -> dict[str, Any]:
        """``{"classpath", "kwargs"}`` (kwargs encoded by :mod:`~tradewind.triggers.serde`),
        as an asset's serialized watchers hold it."""
        classpath, kwargs = self.serialize()
        return {"classpath": classpath, "kwargs": serde.encode(dict(kwargs))}


@dataclass(frozen=True)
class TriggerEvent:
    """What a trigger yields: a payload (anything :mod:`~tradewind.triggers.serde` encodes)
    that the resumed task method receives as ``event``."""

    payload: Any = None

    def __repr__(self) -> str:
        return f"TriggerEvent<{self.payload!r}>"


@dataclass(frozen=True)
class _EndTaskEvent(TriggerEvent):
    """An event that ends the task itself, without resuming it in a process."""

    state: TaskState = TaskState.SUCCESS


class TaskSuccessEvent(_EndTaskEvent):
    """Yield it to end the deferred task as a success (no process resumes it)."""

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload, TaskState.SUCCESS)


class TaskFailedEvent(_EndTaskEvent):
    """Yield it to end the deferred task as failed (no process resumes it)."""

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload, TaskState.FAILED)


class TaskSkippedEvent(_EndTaskEvent):
    """Yield it to end the deferred task as skipped (no process resumes it)."""

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload, TaskState.SKIPPED)


def task_end_state(event: TriggerEvent) -> TaskState | None:
    """The state a task-ending event (TaskSuccessEvent...) gives its task; None for an
    ordinary event, which resumes the task."""
    return event.state if isinstance(event, _EndTaskEvent) else None


@dataclass
class StartTriggerArgs:
    """An operator's ``start_trigger_args``: with ``start_from_trigger``, its task begins in
    the triggerer with this trigger, without a first process (Airflow's names)."""

    trigger_cls: str
    next_method: str
    trigger_kwargs: dict[str, Any] | None = None
    next_kwargs: dict[str, Any] | None = None
    timeout: timedelta | None = None

    def deferral(self) -> reports.Deferral:
        """What a try that deferred with these arguments reports (kwargs serde-encoded): what
        the scheduler stores to start the task in the triggerer without a process."""
        return reports.Deferral(
            self.trigger_cls,
            serde.encode(dict(self.trigger_kwargs or {})),
            self.next_method,
            None if self.next_kwargs is None else serde.encode(dict(self.next_kwargs)),
            None if self.timeout is None else self.timeout.total_seconds(),
        )


def build_trigger(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """The trigger ``classpath`` (``"package.module.Class"``) built with ``kwargs``."""
    module_name, _, name = classpath.rpartition(".")
    if not module_name:
        raise TriggerError(f"trigger class path {classpath!r} must be 'package.module.Class'")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise TriggerError(f"cannot import trigger {classpath!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
        raise TriggerError(f"{classpath!r} is not a trigger (a BaseTrigger subclass)")
    trigger: BaseTrigger = cls(**kwargs)
    return trigger
