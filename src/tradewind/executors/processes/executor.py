"""Bookkeeping shared by the executors whose tries are local processes (sequential, local).

:class:`ProcessExecutor` owns the queue of waiting workloads, the tries in flight, one
selector that waits on every try's report pipe (and whatever the subclass adds), the deadlines
of execution timeouts and of SIGTERM -> SIGKILL escalation, and a self-pipe that lets
:meth:`wakeup` end a poll from another thread. A subclass only says how to start a try's
process and tells the base when it learns the try's pid and exit code.

A try is over when both its report pipe is closed and its exit code is known. If it never sent
a ``finished`` message by then, the executor reports it failed: lost (with why the process
ended), timed out, or cancelled.

A workload whose key is still here is a duplicate and is dropped, unless the try holding the key
has already reported its end: then it is the next run of the same try (a sensor in reschedule
mode pokes again under its try number, at once with ``poke_interval=0``), which waits until the
ended process is gone and then starts. So a try never runs twice at once, and none is lost.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import itertools
import json
import logging
import os
import selectors
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self, TypedDict, Unpack

from tradewind.executors.base import (
    BaseExecutor,
    ExecutorError,
    TaskEvent,
    cancelled_event,
    event_from_message,
    lost_event,
)
from tradewind.executors.processes.runners import (
    DEFAULT_RUNNER,
    GRACE_PERIOD,
    describe_exit,
    signal_group,
)
from tradewind.executors.workqueue import WorkQueue
from tradewind.reports import Kind
from tradewind.settings import Settings
from tradewind.workloads import TaskKey, Workload

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
TIMED_OUT = "timed_out"
# execution_timeout is about the task, not about starting an interpreter or loading the
# runner: its clock starts when the try reports running. Until then a try has this much longer.
START_ALLOWANCE = 30.0
# After close() has killed everything, how long it waits for the processes to be reaped.
_REAP_WAIT = 5.0
_READ_SIZE = 1 << 16


@dataclass(eq=False)
class RunningTry:
    """One try that has been given a slot, from launch until its process is reaped."""

    workload: Workload
    ident: int
    deadline: float | None
    pid: int | None = None
    fd: int | None = None
    buffer: bytearray = field(default_factory=bytearray)
    running: bool = False
    reported: bool = False
    exit_code: int | None = None
    failure: str | None = None
    stop_reason: str | None = None
    kill_at: float | None = None

    @property
    def key(self) -> TaskKey:
        return self.workload.key

    @property
    def over(self) -> bool:
        return self.fd is None and (self.exit_code is not None or self.failure is not None)


class ProcessOptions(TypedDict, total=False):
    """What a test may set on a process executor beyond its settings."""

    runner: str
    grace_period: float


class ProcessExecutor(BaseExecutor):
    """Base of executors that run each try in a local process group of its own."""

    def __init__(
        self,
        settings: Settings,
        *,
        runner: str = DEFAULT_RUNNER,
        grace_period: float = GRACE_PERIOD,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.grace_period = grace_period
        self._queue = WorkQueue()
        self._running: dict[TaskKey, RunningTry] = {}
        # The next run of a try whose process reported its end but is not gone yet.
        self._after: dict[TaskKey, Workload] = {}
        self._events: list[TaskEvent] = []
        self._idents = itertools.count(1)
        self._selector: selectors.BaseSelector | None = None
        self._wake_lock = threading.Lock()
        self._wake_r = -1
        self._wake_w = -1
        self._woken = False

    @classmethod
    def from_settings(cls, settings: Settings, **options: Unpack[ProcessOptions]) -> Self:
        """An executor whose tries run ``runner`` (the task runner unless a test says
        otherwise) and get ``grace_period`` seconds between SIGTERM and SIGKILL."""
        return cls(settings, **options)

    # -- what a subclass provides -------------------------------------------------------------

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many tries may run at once."""

    @abc.abstractmethod
    def _launch(self, attempt: RunningTry) -> None:
        """Start the try's process: call :meth:`_watch_output` with the read end of its pipe,
        then :meth:`_on_pid` and :meth:`_on_exit` as the pid and the exit code become known."""

    def _start_backend(self) -> None:
        """Called once by :meth:`start`, with the selector ready."""

    def _stop_backend(self) -> None:
        """Called once by :meth:`close`, after every try was stopped."""

    def _forget(self, attempt: RunningTry) -> None:
        """The try is over; drop whatever the subclass keeps about it."""

    # -- the interface -------------------------------------------------------------------------

    def start(self) -> None:
        if self._selector is not None:
            return
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._on_wake)
        try:
            self._start_backend()
        except BaseException:
            self._teardown()
            raise

    def submit(self, workload: Workload) -> None:
        self._require_selector()
        key = workload.key
        held = self._running.get(key)
        if held is not None and held.reported and key not in self._after:
            self._after[key] = workload  # started by _finish, once the ended process is gone
            return
        if held is not None or key in self._queue or key in self._after:
            log.warning("%s is already queued or running here; dropping the duplicate", key)
            return
        self._queue.push(workload)
        self._fill()

    def poll(self, timeout: float | None = 0.0) -> list[TaskEvent]:
        self._require_selector()
        self._woken = False
        end = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            self._fill()
            self._step(end)
            self._fill()
            if self._events or self._woken:
                break
            if end is not None and time.monotonic() >= end:
                break
        events, self._events = self._events, []
        return events

    def cancel(self, key: TaskKey) -> None:
        self._require_selector()
        if self._queue.remove(key) is not None or self._after.pop(key, None) is not None:
            self._events.append(cancelled_event(key))
            return
        attempt = self._running.get(key)
        if attempt is not None and attempt.stop_reason is None:
            self._stop(attempt, CANCELLED, time.monotonic())

    def close(self) -> None:
        if self._selector is None:
            return
        self._queue.clear()
        self._after.clear()
        now = time.monotonic()
        for attempt in list(self._running.values()):
            if attempt.stop_reason is None:
                self._stop(attempt, CANCELLED, now)
        # The timers send SIGKILL when the grace period is over; then the exits come in.
        end = now + self.grace_period + _REAP_WAIT
        while self._running and time.monotonic() < end:
            self._events.clear()
            self._step(end)
        for attempt in list(self._running.values()):
            log.warning("%s: its process did not end in time; leaving it", attempt.key)
            if attempt.pid is not None:
                signal_group(attempt.pid, signal.SIGKILL)
            self._close_output(attempt)
        self._running.clear()
        try:
            self._stop_backend()
        finally:
            self._teardown()

    def wakeup(self) -> None:
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"\0")

    def active_keys(self) -> set[TaskKey]:
        return set(self._running) | self._queue.keys()  # _after's keys are in _running

    def task_counts(self) -> tuple[int, int]:
        return len(self._queue), len(self._running)

    @property
    def free_slots(self) -> int:
        return max(0, self.capacity - len(self._running) - len(self._queue))

    # -- for subclasses ------------------------------------------------------------------------

    def _require_selector(self) -> selectors.BaseSelector:
        if self._selector is None:
            raise ExecutorError(f"the {self.name} executor is not started (call start() first)")
        return self._selector

    def _watch_output(self, attempt: RunningTry, fd: int) -> None:
        """Read the try's messages from ``fd`` (the read end of its report pipe)."""
        os.set_blocking(fd, False)
        attempt.fd = fd
        callback = functools.partial(self._on_output, attempt)
        self._require_selector().register(fd, selectors.EVENT_READ, callback)

    def _on_pid(self, attempt: RunningTry, pid: int) -> None:
        """The try's process (and process group) is ``pid``."""
        attempt.pid = pid
        if attempt.stop_reason is not None and attempt.kill_at is None:
            # It was stopped before its pid was known.
            signal_group(pid, signal.SIGTERM)
            attempt.kill_at = time.monotonic() + self.grace_period

    def _on_exit(self, attempt: RunningTry, code: int) -> None:
        """The try's process ended with ``code`` (negative: the signal that killed it)."""
        attempt.exit_code = code
        attempt.kill_at = None
        self._drain(attempt)
        self._finish(attempt)

    def _on_failure(self, attempt: RunningTry, message: str) -> None:
        """The try could not be started, or its process was lost track of."""
        attempt.failure = message
        attempt.kill_at = None
        self._drain(attempt)
        self._finish(attempt)

    def _register(self, fd: int, callback: Callable[[], None]) -> None:
        self._require_selector().register(fd, selectors.EVENT_READ, callback)

    def _unregister(self, fd: int) -> None:
        if self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)

    # -- internals -----------------------------------------------------------------------------

    def _fill(self) -> None:
        while self._queue and len(self._running) < self.capacity:
            workload = self._queue.pop()
            timeout = workload.execution_timeout
            deadline = None if timeout is None else time.monotonic() + timeout + START_ALLOWANCE
            attempt = RunningTry(workload, next(self._idents), deadline)
            self._running[workload.key] = attempt
            try:
                self._launch(attempt)
            except ExecutorError as exc:
                log.error("could not start %s: %s", workload.key, exc)
                if not attempt.over and attempt.key in self._running:
                    self._on_failure(attempt, f"could not start the try: {exc}")

    def _step(self, end: float | None) -> None:
        selector = self._require_selector()
        now = time.monotonic()
        wait = 0.0 if self._events else self._wait_time(now, end)
        for key, _ in selector.select(wait):
            key.data()
        self._check_timers(time.monotonic())

    def _wait_time(self, now: float, end: float | None) -> float | None:
        moments = [] if end is None else [end]
        for attempt in self._running.values():
            if attempt.kill_at is not None:
                moments.append(attempt.kill_at)
            elif attempt.stop_reason is None and attempt.deadline is not None:
                moments.append(attempt.deadline)
        if not moments:
            return None
        return max(0.0, min(moments) - now)

    def _check_timers(self, now: float) -> None:
        for attempt in list(self._running.values()):
            if attempt.kill_at is not None and now >= attempt.kill_at:
                attempt.kill_at = None
                if attempt.pid is not None:
                    signal_group(attempt.pid, signal.SIGKILL)
            elif (
                attempt.stop_reason is None
                and attempt.deadline is not None
                and now >= attempt.deadline
            ):
                self._stop(attempt, TIMED_OUT, now)

    def _stop(self, attempt: RunningTry, reason: str, now: float) -> None:
        """SIGTERM to the try's group now, SIGKILL when the grace period is over."""
        attempt.stop_reason = reason
        if attempt.pid is not None and attempt.exit_code is None:
            signal_group(attempt.pid, signal.SIGTERM)
            attempt.kill_at = now + self.grace_period

    def _on_wake(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 512):
                pass
        self._woken = True

    def _on_output(self, attempt: RunningTry) -> None:
        if attempt.fd is None:
            return
        try:
            data = os.read(attempt.fd, _READ_SIZE)
        except BlockingIOError:
            return
        if data:
            self._feed(attempt, data)
            return
        self._close_output(attempt)
        self._finish(attempt)

    def _drain(self, attempt: RunningTry) -> None:
        """Read what the (ended) process left in its pipe, then close our end."""
        while attempt.fd is not None:
            try:
                data = os.read(attempt.fd, _READ_SIZE)
            except BlockingIOError:
                break
            if not data:
                break
            self._feed(attempt, data)
        self._close_output(attempt)

    def _close_output(self, attempt: RunningTry) -> None:
        if attempt.fd is None:
            return
        self._unregister(attempt.fd)
        os.close(attempt.fd)
        attempt.fd = None

    def _feed(self, attempt: RunningTry, data: bytes) -> None:
        attempt.buffer += data
        while True:
            end = attempt.buffer.find(b"\n")
            if end < 0:
                return
            line = bytes(attempt.buffer[:end])
            del attempt.buffer[: end + 1]
            if line.strip():
                self._on_message(attempt, line)

    def _on_message(self, attempt: RunningTry, line: bytes) -> None:
        try:
            event = event_from_message(attempt.key, json.loads(line))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning(
                "%s sent a message that is not understood (%s): %.200r", attempt.key, exc, line
            )
            return
        if attempt.reported:
            return
        if event.kind == Kind.FINISHED:
            attempt.reported = True
        else:
            attempt.running = True
            if attempt.pid is None and isinstance(event.pid, int):
                # The try can say it runs before its parent has said it started it.
                self._on_pid(attempt, event.pid)
            if attempt.deadline is not None and attempt.stop_reason is None:
                attempt.deadline = time.monotonic() + (attempt.workload.execution_timeout or 0.0)
        self._events.append(event)

    def _finish(self, attempt: RunningTry) -> None:
        if not attempt.over or self._running.get(attempt.key) is not attempt:
            return
        del self._running[attempt.key]
        self._forget(attempt)
        if not attempt.reported:
            self._events.append(self._unreported_event(attempt))
        following = self._after.pop(attempt.key, None)
        if following is not None:
            self._queue.push(following)

    def _unreported_event(self, attempt: RunningTry) -> TaskEvent:
        key = attempt.key
        if attempt.stop_reason == CANCELLED:
            return cancelled_event(key)
        if attempt.stop_reason == TIMED_OUT:
            timeout = attempt.workload.execution_timeout or 0.0
            if not attempt.running:
                waited = timeout + START_ALLOWANCE
                return lost_event(key, f"did not start within {waited:g} s", timed_out=True)
            return lost_event(key, f"timed out after {timeout:g} s", timed_out=True)
        if attempt.failure is not None:
            return lost_event(key, attempt.failure)
        assert attempt.exit_code is not None
        return lost_event(key, describe_exit(attempt.exit_code))

    def _teardown(self) -> None:
        with self._wake_lock:
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1
        if self._selector is not None:
            self._selector.close()
            self._selector = None
