"""The executor interface and the plain values it trades in.

The scheduler hands an executor a :class:`Workload` (one task try) and gets :class:`TaskEvent`
values back. Executors know nothing of the scheduler, the metastore or DAG files; a task try
reports what happens to it through a :class:`Channel` (one JSON message per line), which the
executor turns into events. The scheduler stays the only writer of task state.

Messages a try sends, in order (see :class:`MessageType`)::

    {"type": "running", "pid": 123, "hostname": "h", "at": "2026-...Z"}
    {"type": "finished", "state": "success", "at": "...", "error": null, "retryable": true,
     "xcoms": [["return_value", 42]], "skip": ["t2"], "reschedule_date": null,
     "rendered_fields": {"bash_command": "echo 2026-01-01"}}

``rendered_fields`` (JSON, secrets masked) is there only when the task has template fields and
they rendered. An XCom whose value holds a secret the try used comes as ``[key, value, shown]``:
``shown`` is the value masked, for display.

A try whose process ends without a ``finished`` message is reported failed by the executor
(``lost`` in the payload), so a crash is noticed the moment the process is gone.
"""

from __future__ import annotations

import abc
import enum
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, Self

from tradewind import tasklogs
from tradewind.exceptions import TradewindError
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload


class ExecutorError(TradewindError):
    """An executor cannot be built or started (unknown name, missing extra, runner not found)."""


class MessageType(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


class EventKind(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


@dataclass(frozen=True)
class TaskEvent:
    """Something that happened to a try.

    For FINISHED, ``state`` is one of success, failed, skipped, up_for_reschedule; ``payload``
    carries ``retryable`` (bool), ``xcoms`` (list of [key, value], or [key, value, shown] when
    the value holds a secret), ``skip`` (downstream task ids to skip), ``reschedule_date`` (ISO
    text), ``rendered_fields`` (``{field: JSON value}``, when the task rendered templates), and
    ``lost`` (True when the process died without reporting), ``timed_out`` (True when the
    executor stopped it at its execution_timeout) or ``cancelled`` (True when it was stopped
    because :meth:`BaseExecutor.cancel` asked for it).
    """

    key: TaskKey
    kind: EventKind
    at: datetime
    state: TaskState | None = None
    pid: int | None = None
    hostname: str | None = None
    info: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict, compare=False)


class Channel(Protocol):
    """Where a running try sends its messages."""

    def send(self, message: Mapping[str, Any]) -> None: ...


# Starts each message line of a try whose messages share a stream with its log (a pod's).
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
    """Turn one message of a try into an event (unknown types are an error of the runner)."""
    at = _parse_time(message.get("at"))
    kind = message.get("type")
    if kind == MessageType.RUNNING:
        return TaskEvent(
            key, EventKind.RUNNING, at, pid=message.get("pid"), hostname=message.get("hostname")
        )
    if kind == MessageType.FINISHED:
        payload = {k: v for k, v in message.items() if k not in {"type", "at", "state", "error"}}
        return TaskEvent(
            key,
            EventKind.FINISHED,
            at,
            state=TaskState(message["state"]),
            info=message.get("error") or "",
            payload=payload,
        )
    raise ValueError(f"unknown message type {kind!r} from {key}")


def lost_event(key: TaskKey, info: str, *, timed_out: bool = False) -> TaskEvent:
    """The try's process is gone without a word: it failed (and may be retried)."""
    payload: dict[str, Any] = {"retryable": True, "lost": not timed_out, "timed_out": timed_out}
    return TaskEvent(
        key, EventKind.FINISHED, now(), state=TaskState.FAILED, info=info, payload=payload
    )


def cancelled_event(key: TaskKey) -> TaskEvent:
    """The try was stopped (or dropped from the queue) because the scheduler asked for it."""
    payload: dict[str, Any] = {"retryable": False, "cancelled": True}
    return TaskEvent(
        key, EventKind.FINISHED, now(), state=TaskState.FAILED, info="cancelled", payload=payload
    )


def now() -> datetime:
    return datetime.now(UTC)


def _parse_time(raw: Any) -> datetime:
    if isinstance(raw, str):
        return datetime.fromisoformat(raw)
    return now()


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
