"""Deferral in a try: what a task that defers reports, and where a resumed try goes on.

A task that raises :class:`~tradewind.exceptions.TaskDeferred` (``self.defer(...)``) ends its
try as ``deferred`` with a :class:`~tradewind.reports.Deferral`: the trigger's class path and
its arguments, the method to resume in and that method's kwargs, all as
:mod:`tradewind.triggers.serde` JSON. Before reporting, the trigger is built again from that
JSON, as the triggerer will build it, so that a trigger which cannot travel fails the try
here, with an error that says why, rather than later in the triggerer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradewind import reports
from tradewind.exceptions import TaskDeferralError, TaskDeferred
from tradewind.triggers import serde
from tradewind.triggers.base import BaseTrigger, StartTriggerArgs, TriggerError, build_trigger

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

# Modules that another process cannot import by name: a DAG file's own module (the loader
# names it tradewind_dag_<digest>_<stem>) and a script run as __main__.
_UNIMPORTABLE_PREFIXES = ("tradewind_dag_", "__main__")


def deferral_of(exc: TaskDeferred) -> reports.Deferral:
    """The report of a try that raised ``exc``; TaskDeferralError if its trigger cannot be
    stored and rebuilt from its class path and arguments."""
    trigger = exc.trigger
    if not isinstance(trigger, BaseTrigger):
        raise TaskDeferralError(
            f"defer() needs a trigger (a BaseTrigger), not {type(trigger).__name__} {trigger!r}"
        )
    name = type(trigger).__name__
    try:
        classpath, kwargs = trigger.serialize()
    except Exception as exc2:
        raise TaskDeferralError(f"trigger {name}: serialize() raised {exc2!r}") from exc2
    if not isinstance(classpath, str) or not isinstance(kwargs, Mapping):
        raise TaskDeferralError(
            f"trigger {name}: serialize() must return (class path, kwargs dict), not "
            f"({classpath!r}, {kwargs!r})"
        )
    if classpath.startswith(_UNIMPORTABLE_PREFIXES):
        raise TaskDeferralError(
            f"trigger {name} is defined in a DAG file ({classpath}): the triggerer imports "
            "triggers by class path, so define it in a module beside the DAG files (the DAGs "
            "folder is on the import path) or in an installed package"
        )
    encoded = encode(f"the arguments of trigger {classpath}", dict(kwargs))
    check_trigger(classpath, encoded)
    method_kwargs = None
    if exc.kwargs is not None:
        method_kwargs = encode(f"the kwargs for {exc.method_name}()", dict(exc.kwargs))
    timeout = exc.timeout.total_seconds() if exc.timeout is not None else None
    return reports.Deferral(classpath, encoded, exc.method_name, method_kwargs, timeout)


def encode(what: str, value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as serde JSON; TaskDeferralError naming ``what`` if it cannot be."""
    try:
        encoded: dict[str, Any] = serde.encode(value)
    except serde.SerdeError as exc:
        raise TaskDeferralError(f"{what} cannot be stored: {exc}") from None
    return encoded


def check_trigger(classpath: str, encoded: Mapping[str, Any]) -> BaseTrigger:
    """The trigger as the triggerer will build it from the stored JSON, or TaskDeferralError."""
    try:
        return build_trigger(classpath, serde.decode(dict(encoded)))
    except TriggerError as exc:
        raise TaskDeferralError(str(exc)) from None
    except Exception as exc:
        raise TaskDeferralError(
            f"trigger {classpath} cannot be built again from its serialize() arguments: {exc!r}"
        ) from None


def start_deferral(task: BaseOperator) -> TaskDeferred | None:
    """The deferral a task with ``start_from_trigger`` begins with (None: it runs execute).

    The scheduler may defer such a task without starting a process; a try that starts all
    the same (an older scheduler, ``tasks test``) defers at once, and ``execute`` never runs,
    as in Airflow.
    """
    args = task.start_trigger_args
    if not task.start_from_trigger or args is None:
        return None
    if not isinstance(args, StartTriggerArgs):
        raise TaskDeferralError(
            f"task {task.task_id!r}: start_trigger_args must be a StartTriggerArgs, not {args!r}"
        )
    trigger = check_trigger(args.trigger_cls, encode("trigger_kwargs", args.trigger_kwargs or {}))
    return TaskDeferred(
        trigger=trigger,
        method_name=args.next_method,
        kwargs=args.next_kwargs,
        timeout=args.timeout,
    )


def resume_kwargs(next_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """A resumed try's method kwargs (``event`` included), decoded from the workload."""
    decoded = serde.decode(dict(next_kwargs or {}))
    if not isinstance(decoded, dict):
        raise TaskDeferralError(f"next_kwargs must be an object, not {next_kwargs!r}")
    return decoded
