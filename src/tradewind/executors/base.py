"""The executor interface and the plain values it trades in.

The scheduler hands an executor a :class:`Workload` (one task try) and gets :class:`TaskEvent`
values back: a try's key and its report (:mod:`tradewind.reports`). Executors know nothing of
the scheduler, the metastore or DAG files; a task try sends its reports through a
:class:`Channel` (one JSON object per line, see :mod:`tradewind.reports` for the wire format),
which the executor decodes into events. The scheduler stays the only writer of task state.

A try whose process ends without a finished report is reported failed by the executor
(:func:`lost_event`, cause ``lost``), so a crash is noticed the moment the process is gone.
"""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, Self

from tradewind import reports, tasklogs
from tradewind.exceptions import TradewindError
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload


class ExecutorError(TradewindError):
    """An executor cannot be built or started (unknown name, missing extra, runner not found)."""


@dataclass(frozen=True)
class TaskEvent:
    """Something that happened to a try: its key and its report.

    The properties are shortcuts to the report's common fields, for code that only glances at
    an event (a progress display, a test); the scheduler reads :attr:`report` itself.
    """

    key: TaskKey
    report: reports.Report

    @property
    def kind(self) -> reports.Kind:
        return self.report.kind

    @property
    def at(self) -> datetime:
        return self.report.at

    @property
    def state(self) -> TaskState | None:
        return self.report.state if isinstance(self.report, reports.Finished) else None

    @property
    def pid(self) -> int | None:
        return self.report.pid if isinstance(self.report, reports.Running) else None

    @property
    def hostname(self) -> str | None:
        return self.report.hostname if isinstance(self.report, reports.Running) else None

    @property
    def info(self) -> str:
        """Why a finished try failed (its error, or why its executor ended it)."""
        return self.report.error if isinstance(self.report, reports.Finished) else ""


class Channel(Protocol):
    """Where a running try sends its reports (encoded, see :func:`tradewind.reports.encode`)."""

    def send(self, message: Mapping[str, Any]) -> None: ...


# Starts each report line of a try whose reports share a stream with its log (a pod's).
REPORT_TAG = "tradewind-report: "


class LineChannel:
    """A channel writing one JSON document per line to a binary file descriptor, each line
    after ``tag`` when one is given."""

    def __init__(self, fd: int, *, tag: str = "") -> None:
        self._fd = fd
        self._tag = tag

    def send(self, message: Mapping[str, Any]) -> None:
        data = (self._tag + json.dumps(message, default=str) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]


def event_from_message(key: TaskKey, message: Mapping[str, Any]) -> TaskEvent:
    """Decode one report of a try into an event (unknown types are an error of the runner)."""
    try:
        return TaskEvent(key, reports.decode(message))
    except ValueError as exc:
        raise ValueError(f"{exc} from {key}") from exc


def lost_event(
    key: TaskKey, info: str, *, timed_out: bool = False, no_heartbeat: bool = False
) -> TaskEvent:
    """The try's process is gone without a word (``no_heartbeat``: its worker went silent):
    it failed (and may be retried)."""
    return TaskEvent(key, reports.lost(info, timed_out=timed_out, no_heartbeat=no_heartbeat))


def cancelled_event(key: TaskKey) -> TaskEvent:
    """The try was stopped (or dropped from the queue) because the scheduler asked for it."""
    return TaskEvent(key, reports.cancelled())


now = reports.now


class BaseExecutor(abc.ABC):
    """Runs workloads somewhere and reports what happened.

    The scheduler calls :meth:`submit` for each try it queues and :meth:`poll` to wait for
    events: ``poll(timeout)`` blocks up to ``timeout`` seconds, returning as soon as anything
    happened, so an idle scheduler sleeps inside it. :meth:`wakeup` may be called from any
    thread to end a poll early.
    """

    name: ClassVar[str]
    supports_adoption: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: Settings) -> Self:
        """A new executor, not started, set up as ``settings`` say (the registry's way in).

        Each executor reads from ``settings`` only what it needs; what a caller may choose
        besides (a runner, a grace period) are keyword arguments of its own, with defaults.
        """

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def submit(self, workload: Workload) -> None: ...

    @abc.abstractmethod
    def poll(self, timeout: float | None = 0.0) -> list[TaskEvent]: ...

    @abc.abstractmethod
    def cancel(self, key: TaskKey) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def wakeup(self) -> None: ...

    def active_keys(self) -> set[TaskKey]:
        """Tries this executor holds (waiting or running); empty if it cannot tell."""
        return set()

    def task_counts(self) -> tuple[int, int]:
        """How many tries wait in this executor and how many run (for the metrics
        executor.queued_tasks and executor.running_tasks); by default all held count as running."""
        return 0, len(self.active_keys())

    # With ``supports_adoption``, a try outlives the scheduler that sent it (it waits in a
    # broker or runs on another host), and a scheduler taking over can follow it instead of
    # running it again. The scheduler stores ``external_id(key)`` with the task instance when it
    # queues the try, and passes the keys of a dead scheduler's tries to ``adopt``.

    def external_id(self, key: TaskKey) -> str | None:
        """How this executor names the try outside tradewind (a Celery task id), if at all."""
        return None

    def adopt(self, keys: Sequence[TaskKey]) -> set[TaskKey]:
        """Follow tries another scheduler sent; returns those it follows from now on."""
        return set()

    @property
    @abc.abstractmethod
    def free_slots(self) -> int:
        """How many more workloads it would start now (the scheduler queues no more than this)."""

    @classmethod
    def log_source(cls, settings: Settings) -> tasklogs.LogSource:
        """Where the web server reads the logs of this executor's tries: by default the files
        under ``logging.base_log_folder``. An executor whose tries write their logs elsewhere
        (a worker's host, a pod) offers a source that finds them there."""
        return tasklogs.LogSource(settings.logging.base_log_folder)
