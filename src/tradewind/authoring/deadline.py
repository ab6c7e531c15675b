"""Deadline alerts (Airflow 3.1's ``DeadlineAlert``): a DAG run not finished by a reference time
plus an interval fires a callback, once.

    DAG(..., deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=15),
        callback=AsyncCallback(SmtpNotifier, kwargs={"to": "ops@example.com"}),
    ))

The scheduler watches the unfinished runs of DAGs that have deadlines and, when one is missed,
records the miss and starts the callback in a process of its own
(:mod:`tradewind.runtime.deadline_callbacks`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

QUEUED_AT = "dagrun_queued_at"
LOGICAL_DATE = "dagrun_logical_date"
FIXED_DATETIME = "fixed_datetime"


@dataclasses.dataclass(frozen=True)
class Reference:
    """Where a deadline counts from: a run's queued time or logical date, or a fixed moment."""

    kind: str
    moment: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.moment is not None and self.moment.tzinfo is None:
            raise ValueError("FIXED_DATETIME needs an aware datetime (with a time zone)")


class DeadlineReference:
    """The references Airflow names: ``DAGRUN_QUEUED_AT``, ``DAGRUN_LOGICAL_DATE`` and
    ``FIXED_DATETIME(datetime)``."""

    DAGRUN_QUEUED_AT = Reference(QUEUED_AT)
    DAGRUN_LOGICAL_DATE = Reference(LOGICAL_DATE)

    @staticmethod
    def FIXED_DATETIME(moment: dt.datetime) -> Reference:
        return Reference(FIXED_DATETIME, moment)


class Callback:
    """What a missed deadline calls: ``callback_callable`` (a callable, a notifier class or a
    dotted path to one) with ``kwargs`` (strings in them are templates, rendered with the
    run's context); a callable that takes ``context`` gets it too."""

    def __init__(
        self, callback_callable: Callable[..., Any] | str, kwargs: Mapping[str, Any] | None = None
    ) -> None:
        if not callable(callback_callable) and not isinstance(callback_callable, str):
            raise ValueError(f"a deadline callback must be callable, not {callback_callable!r}")
        self.callback_callable = callback_callable
        self.kwargs: dict[str, Any] = dict(kwargs or {})

    @property
    def path(self) -> str:
        """The dotted path of the callable (what the UI and the API show)."""
        found = self.callback_callable
        if isinstance(found, str):
            return found
        module = getattr(found, "__module__", None) or ""
        name = getattr(found, "__qualname__", None) or type(found).__name__
        return f"{module}.{name}" if module else name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path})"


class AsyncCallback(Callback):
    """A callback Airflow runs in its triggerer (a coroutine function is awaited); tradewind
    runs it, as every deadline callback, in a process of its own."""


class SyncCallback(Callback):
    """A callback Airflow runs on an executor; tradewind runs it in a process of its own."""

    def __init__(
        self,
        callback_callable: Callable[..., Any] | str,
        kwargs: Mapping[str, Any] | None = None,
        executor: str | None = None,
    ) -> None:
        super().__init__(callback_callable, kwargs)
        self.executor = executor


class DeadlineAlert:
    """Fire ``callback`` when a run is not finished by ``reference`` + ``interval``."""

    def __init__(self, *, reference: Reference, interval: dt.timedelta, callback: Any) -> None:
        if not isinstance(reference, Reference):
            raise ValueError(f"reference must be a DeadlineReference, not {reference!r}")
        if not isinstance(interval, dt.timedelta):
            raise ValueError(f"interval must be a timedelta, not {interval!r}")
        if not isinstance(callback, Callback):
            # A bare callable or notifier is taken as Airflow 3.1's AsyncCallback of it.
            callback = AsyncCallback(callback)
        self.reference = reference
        self.interval = interval
        self.callback: Callback = callback

    def serialize(self) -> dict[str, Any]:
        moment = self.reference.moment
        return {
            "reference": self.reference.kind,
            "moment": None if moment is None else moment.astimezone(dt.UTC).isoformat(),
            "interval": self.interval.total_seconds(),
            "callback": self.callback.path,
        }

    def __repr__(self) -> str:
        return f"DeadlineAlert({self.reference.kind}, {self.interval}, {self.callback!r})"


def as_deadlines(value: object) -> list[DeadlineAlert]:
    """None, one DeadlineAlert or a list of them, as a list; a ValueError otherwise."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if not isinstance(item, DeadlineAlert):
            raise ValueError(f"deadline must be a DeadlineAlert or a list of them, not {item!r}")
    return list(items)


def deadline_of(
    spec: Mapping[str, Any], queued_at: dt.datetime | None, logical_date: dt.datetime
) -> dt.datetime | None:
    """When a run must be finished by, per a serialized alert (None: not known yet, e.g. a
    run not queued)."""
    kind = spec.get("reference")
    if kind == QUEUED_AT:
        start = queued_at
    elif kind == LOGICAL_DATE:
        start = logical_date
    elif kind == FIXED_DATETIME and spec.get("moment"):
        start = dt.datetime.fromisoformat(str(spec["moment"]))
    else:
        return None
    if start is None:
        return None
    return start + dt.timedelta(seconds=float(spec.get("interval") or 0))
