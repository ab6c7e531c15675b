"""Errors raised while defining DAGs, and signals a task raises to steer its own outcome.

Definition errors (:class:`DagDefinitionError`, :class:`ParamValidationError`) say what is wrong
with a DAG file. The task signals are raised from ``execute()`` (or a callable it runs):

- :class:`SkipTask`: mark this task instance skipped.
- :class:`FailTask`: fail this try and do not retry it, whatever ``retries`` says.
- :class:`TaskError`: an ordinary failure; ``retries`` apply.
- :class:`RescheduleTask`: a sensor in ``reschedule`` mode gives back its slot until a given time.
- :class:`SkipDownstream`: the task succeeded and these downstream tasks must be skipped
  (branching and short-circuiting).
- :class:`TaskDeferred`: hand a trigger over and leave; the task resumes in ``method_name``
  when the trigger fires (``self.defer(...)`` raises it).

Airflow's names for these (``airflow.exceptions``, served by :mod:`tradewind.compat`) are
:data:`AirflowException` (every error here), :class:`SkipTask`, :class:`FailTask`,
:class:`SensorTimeout`, :class:`RescheduleTask`, :class:`NotFound`, :class:`ConfigNotFound`,
:class:`TaskDeferred`, :class:`TaskDeferralError` and :class:`TaskDeferralTimeout`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any


class TradewindError(Exception):
    """Base class of every error tradewind raises on purpose."""


# Airflow's base error: raising it fails the try (retries apply); catching it catches every
# error and signal above and below, as in Airflow.
AirflowException = TradewindError


class NotFound(TradewindError, KeyError):
    """A variable or connection looked up by name that does not exist."""

    def __str__(self) -> str:
        # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class ConfigNotFound(NotFound):
    """A configuration key with no value and no fallback (``conf.get`` of Airflow)."""


class DagDefinitionError(TradewindError):
    """A DAG file defines something invalid; the message starts with ``file:line:`` when known."""

    def __init__(self, message: str, *, fileloc: str | None = None, lineno: int | None = None):
        self.message = message
        self.fileloc = fileloc
        self.lineno = lineno
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.fileloc is None:
            return self.message
        if self.lineno is None:
            return f"{self.fileloc}: {self.message}"
        return f"{self.fileloc}:{self.lineno}: {self.message}"


class ParamValidationError(TradewindError, ValueError):
    """A DAG param's value (from its default or from a run's conf) does not fit its schema."""


class TaskNotFound(TradewindError, KeyError):
    """A task id that is not in the DAG."""

    def __str__(self) -> str:
        # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class SkipTask(TradewindError):
    """Raise in a task to mark this task instance skipped instead of failed."""


class FailTask(TradewindError):
    """Raise in a task to fail it at once, without using its remaining retries."""


class TaskError(TradewindError):
    """A task failed in an ordinary way (a command exited non-zero, ...); retries apply."""


class SensorTimeout(FailTask):
    """A sensor waited longer than its ``timeout``; sensors that time out are not retried."""


class RescheduleTask(TradewindError):
    """A sensor in reschedule mode asks to be run again at ``reschedule_date`` (aware UTC)."""

    def __init__(self, reschedule_date: datetime):
        self.reschedule_date = reschedule_date
        super().__init__(f"reschedule at {reschedule_date.isoformat()}")


class SkipDownstream(TradewindError):
    """The task succeeded and the listed downstream tasks must be skipped.

    ``xcom_value`` is the task's return value, to be pushed as its XCom like any other.
    """

    def __init__(self, task_ids: Iterable[str], xcom_value: Any = None):
        self.task_ids = frozenset(task_ids)
        self.xcom_value = xcom_value
        super().__init__(f"skip downstream tasks: {', '.join(sorted(self.task_ids))}")


class TaskDeferred(BaseException):
    """Raised (by ``BaseOperator.defer``) to suspend the task until ``trigger`` fires.

    The try ends as ``deferred`` and frees its worker slot; the triggerer runs the trigger,
    and when it fires the task resumes in a new process of the same try by calling
    ``method_name(context, event=..., **kwargs)``. ``timeout`` (a timedelta or seconds; None:
    no limit) is how long the trigger may take before the task fails with
    :class:`TaskDeferralTimeout`.

    Like Airflow's, it derives from BaseException so that a task's ``except Exception`` does
    not swallow it. ``method_name`` :data:`TRIGGER_EXIT` (the default) says the trigger ends
    the task itself (with a ``TaskSuccessEvent``...) and nothing resumes.
    """

    TRIGGER_EXIT = "__trigger_exit__"

    def __init__(
        self,
        *,
        trigger: Any,
        method_name: str = TRIGGER_EXIT,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, timedelta | int | float | None):
            raise TypeError(f"a deferral's timeout is a timedelta or seconds, not {timeout!r}")
        if timeout is not None and not isinstance(timeout, timedelta):
            timeout = timedelta(seconds=timeout)
        if not isinstance(method_name, str) or not method_name:
            raise TypeError(f"a deferral's method_name is a method's name, not {method_name!r}")
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        self.timeout: timedelta | None = timeout
        super().__init__(trigger, method_name, kwargs, timeout)

    def __str__(self) -> str:
        return f"deferred until {self.trigger!r} fires, resuming in {self.method_name}()"


class TaskDeferralError(TradewindError):
    """A deferred task cannot go on: its trigger failed, or the deferral itself is invalid
    (a trigger whose arguments cannot be stored, a resume method that does not exist)."""


class TaskDeferralTimeout(TradewindError):
    """A deferred task's trigger did not fire within the ``timeout`` given to ``defer``."""


class NotProvidedYet(TradewindError, NotImplementedError):
    """An Airflow feature that tradewind does not provide yet (the message names it)."""


class SerializationError(TradewindError, ValueError):
    """Serialized DAG data is malformed or of an unknown format version."""
