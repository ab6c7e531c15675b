"""The celery executor: tries go to a broker queue, workers on any host run them.

:meth:`CeleryExecutor.submit` sends the workload as the Celery task ``tradewind.run_try``
with a task id derived from the try's key (:func:`~tradewind.executors.celery.app.task_id_for`),
on the operator's ``queue`` or the default one; a large run (a big ``conf``) stays out of the
message and the try reads it from the metastore (:meth:`Workload.to_remote_json`). A worker claims
the try, runs it, and reports through the result backend: RUNNING (with pid, host and a
heartbeat that changes every ``heartbeat_interval``) while it runs, then the finished message
as the task's result.

:meth:`poll` reads the state of every try in flight in one round trip every ~50 ms
(:mod:`tradewind.executors.celery.results`) and turns what changed into events. It also
notices what goes wrong: a running try whose heartbeat stopped changing for
``heartbeat_timeout`` seconds is lost (its worker is gone); a try no worker took within
``queued_timeout`` fails and says which queue nobody listens on; a try still waiting after
``resend_interval`` is sent again with the same id (a broker that lost it), a second delivery
being dropped by the worker's claim. At most ``core.parallelism`` tries are in flight; the
rest wait here, higher ``priority_weight`` first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import celery  # noqa: F401 - without the celery extra, choosing this executor says what to install
from kombu.exceptions import EncodeError

from tradewind import reports, tasklogs
from tradewind.executors import served_logs
from tradewind.executors.base import (
    TaskEvent,
    cancelled_event,
    event_from_message,
    lost_event,
)
from tradewind.executors.celery.app import (
    CLAIMED_STATE,
    RUNNING_STATE,
    TASK_NAME,
    make_app,
    task_id_for,
)
from tradewind.executors.celery.results import Seen, StateReader, reader_for
from tradewind.executors.processes.runners import DEFAULT_RUNNER
from tradewind.executors.remote import RemoteExecutor
from tradewind.settings import Settings
from tradewind.workloads import TaskKey, Workload

log = logging.getLogger(__name__)

CANCEL_COMMAND = "tradewind_cancel"
# How often the result backend is read while tries are in flight.
CHECK_INTERVAL = 0.02
# The queue of an operator that names none (a Workload's default).
UNNAMED_QUEUE = Workload.queue
# A send that failed (broker unreachable) is tried again this soon.
SEND_RETRY = 1.0


@dataclass(eq=False)
class InFlight:
    """A try sent to the broker (or adopted), until its end is reported."""

    key: TaskKey
    task_id: str
    queue: str
    workload: Workload | None  # None when adopted: it cannot be sent again
    first_sent: float
    last_sent: float
    running: bool = False
    claimed: bool = False  # a worker took it (its heartbeat counts from then on)
    hostname: str | None = None
    beat: Any = None
    beat_at: float = 0.0


class CeleryExecutor(RemoteExecutor[InFlight]):
    """Sends tries to Celery workers and follows them through the result backend."""

    name: ClassVar[str] = "celery"
    supports_adoption: ClassVar[bool] = True

    def __init__(self, settings: Settings, *, runner: str = DEFAULT_RUNNER) -> None:
        super().__init__(settings)
        self.runner = runner
        self.app: Any = None
        self._reader: StateReader | None = None
        self._next_check = 0.0
        self._blind = False

    @classmethod
    def from_settings(cls, settings: Settings, *, runner: str = DEFAULT_RUNNER) -> Self:
        """An executor whose workers run ``runner`` (the task runner unless a test says
        otherwise). The grace period of a cancelled try is the workers' own."""
        return cls(settings, runner=runner)

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.app is not None:
            return
        app = make_app(self.settings)
        # Celery's Redis backend subscribes to every task it sends, for AsyncResult.get();
        # the executor reads states in bulk instead and never drains that subscription.
        app.backend.on_task_call = _no_subscription
        self._reader = reader_for(app)
        self.app = app

    def close(self) -> None:
        """Stop watching. Tries on workers go on (a scheduler taking over adopts them); tries
        not yet sent are dropped (their task instances are reset as orphans)."""
        self._waiting.clear()
        self._flight.clear()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self.app is not None:
            self.app.close()
            self.app = None

    def wakeup(self) -> None:
        self._wake.set()

    # ---- the interface ---------------------------------------------------------------------

    def external_id(self, key: TaskKey) -> str | None:
        return task_id_for(key)

    @classmethod
    def log_source(cls, settings: Settings) -> tasklogs.LogSource:
        """The log file here, or else the log server of the worker that ran the try."""
        return served_logs.WorkerLogSource(
            settings.logging.base_log_folder,
            settings.celery.worker_log_server_port,
            settings.webserver.secret_key,
        )

    def queue_of(self, workload: Workload) -> str:
        """The broker queue of a try: the operator's ``queue=``, or ``celery.default_queue``
        for an operator that names none."""
        if workload.queue in ("", UNNAMED_QUEUE):
            return self.settings.celery.default_queue
        return workload.queue

    def submit(self, workload: Workload) -> None:
        self._waiting.push(workload)
        self._send_waiting()

    def adopt(self, keys: Sequence[TaskKey]) -> set[TaskKey]:
        """Follow tries another scheduler sent (by their task ids); all of them are followed.

        Their queue is unknown here and they are never sent again: one that no worker takes
        within ``queued_timeout`` fails like any other."""
        tick = time.monotonic()
        adopted: set[TaskKey] = set()
        for key in keys:
            if key not in self._flight:
                self._flight[key] = InFlight(key, task_id_for(key), "?", None, tick, tick)
            adopted.add(key)
        self._next_check = 0.0
        return adopted

    def cancel(self, key: TaskKey) -> None:
        if self._cancel_waiting(key):
            return
        flight = self._flight.get(key)
        if flight is None or self.app is None:
            return
        self._broadcast_cancel(flight.task_id)
        if not flight.running:
            # Still in the broker: the worker that gets it drops it.
            self.app.control.revoke(flight.task_id)
            self._done(flight)
            self._report(cancelled_event(key))

    def poll(self, timeout: float | None = 0.0) -> list[TaskEvent]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if time.monotonic() >= self._next_check:
                self._check()
            if self._ready:
                ready, self._ready = self._ready, []
                return ready
            if self._wake.is_set():
                self._wake.clear()
                return []
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return []
            wait = remaining
            if self._flight:
                until_check = max(0.0, self._next_check - time.monotonic())
                wait = until_check if wait is None else min(wait, until_check)
            if self._wake.wait(wait):
                self._wake.clear()
                return []

    # ---- sending ---------------------------------------------------------------------------

    def _send_waiting(self) -> None:
        room = self.settings.core.parallelism - len(self._flight)
        if room <= 0 or not self._waiting or self.app is None:
            return
        tick = time.monotonic()
        batch: list[InFlight] = []
        while self._waiting and len(batch) < room:
            workload = self._waiting.pop()
            queue = self.queue_of(workload)
            flight = InFlight(workload.key, task_id_for(workload.key), queue, workload, tick, tick)
            self._flight[workload.key] = flight
            batch.append(flight)
        self._send(batch)
        self._next_check = min(self._next_check, tick + CHECK_INTERVAL)

    def _send(self, batch: Sequence[InFlight]) -> None:
        assert self.app is not None
        refused: list[tuple[InFlight, Exception]] = []
        try:
            with self.app.producer_or_acquire() as producer:
                for flight in batch:
                    assert flight.workload is not None
                    try:
                        self.app.send_task(
                            TASK_NAME,
                            args=[flight.workload.to_remote_json(), self.runner],
                            task_id=flight.task_id,
                            queue=flight.queue,
                            producer=producer,
                        )
                    except (EncodeError, TypeError, ValueError) as exc:
                        refused.append((flight, exc))  # this workload alone: the others go
                        continue
                    flight.last_sent = time.monotonic()
        except Exception as exc:  # the broker is unreachable: resent soon, or timed out
            log.warning("cannot send tries to the broker (tried again soon): %s", exc)
            resend_at = time.monotonic() - self.settings.celery.resend_interval + SEND_RETRY
            for flight in batch:
                flight.last_sent = min(flight.last_sent, resend_at)
        for flight, error in refused:
            info = f"could not send the try: its workload cannot be encoded: {error}"
            log.error("%s: %s", flight.key, info)
            self._finish(flight, _failed(flight.key, info, retryable=False))

    def _broadcast_cancel(self, task_id: str) -> None:
        assert self.app is not None
        try:
            self.app.control.broadcast(CANCEL_COMMAND, arguments={"task_id": task_id})
        except Exception as exc:
            log.warning("cannot ask the workers to cancel %s: %s", task_id, exc)

    # ---- watching --------------------------------------------------------------------------

    def _check(self) -> None:
        """Read the states of all tries in flight at once and turn them into events."""
        tick = time.monotonic()
        self._next_check = tick + CHECK_INTERVAL
        if not self._flight or self._reader is None:
            self._next_check = float("inf")
            return
        flights = list(self._flight.values())
        try:
            seen = self._reader.fetch([f.task_id for f in flights])
        except Exception as exc:  # the backend is unreachable: nothing can be told meanwhile
            if not self._blind:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                log.warning("cannot read try states from the result backend: %s", first)
            self._blind = True
            return
        if self._blind:
            # Heartbeats could not be seen while the backend was away; they count from now.
            self._blind = False
            for flight in flights:
                flight.beat_at = tick
        finished: list[str] = []
        resend: list[InFlight] = []
        for flight in flights:
            state = seen.get(flight.task_id)
            if self._follow(flight, state, tick, resend):
                finished.append(flight.task_id)
        if resend:
            self._send(resend)
        if finished:
            self._forget(finished)
            self._send_waiting()

    def _follow(
        self, flight: InFlight, state: Seen | None, tick: float, resend: list[InFlight]
    ) -> bool:
        """Report what changed for one try; True when it is over."""
        settings = self.settings.celery
        status = state.status if state is not None else "PENDING"
        result = state.result if state is not None else None
        if status in (RUNNING_STATE, CLAIMED_STATE) and isinstance(result, dict):
            if status == RUNNING_STATE and not flight.running:
                self._on_running(flight, result.get("message") or {}, tick)
            if not flight.claimed:
                flight.claimed, flight.beat_at = True, tick
            if result.get("heartbeat") != flight.beat:
                flight.beat, flight.beat_at = result.get("heartbeat"), tick
        elif status == "SUCCESS" and isinstance(result, dict):
            if not flight.running and result.get("running"):
                self._on_running(flight, result["running"], tick)
            return self._finish(flight, event_from_message(flight.key, result["message"]))
        elif status == "FAILURE":
            info = f"the celery task failed on its worker: {type(result).__name__}: {result}"
            return self._finish(flight, _failed(flight.key, info, retryable=True))
        elif status == "REVOKED":
            return self._finish(flight, cancelled_event(flight.key))
        elif flight.claimed or status != "PENDING":
            pass  # taken by a worker (or a state the executor does not set): the heartbeat decides
        elif tick - flight.first_sent > settings.queued_timeout:
            return self._queued_too_long(flight)
        elif flight.workload is not None and tick - flight.last_sent > settings.resend_interval:
            resend.append(flight)
            return False
        if flight.claimed and tick - flight.beat_at > settings.heartbeat_timeout:
            where = f" ({flight.hostname})" if flight.hostname else ""
            info = (
                f"no heartbeat from its worker{where} for {settings.heartbeat_timeout:g} s: "
                "the worker is gone"
            )
            self._broadcast_cancel(flight.task_id)
            return self._finish(flight, lost_event(flight.key, info, no_heartbeat=True))
        return False

    def _on_running(self, flight: InFlight, message: dict[str, Any], tick: float) -> None:
        flight.running, flight.claimed, flight.beat_at = True, True, tick
        event = event_from_message(flight.key, {"type": "running", **message})
        flight.hostname = event.hostname
        self._ready.append(event)

    def _queued_too_long(self, flight: InFlight) -> bool:
        timeout = self.settings.celery.queued_timeout
        info = f"no worker took it from queue '{flight.queue}' within {timeout:g} s"
        log.warning("%s: %s", flight.key, info)
        assert self.app is not None
        try:
            self.app.control.revoke(flight.task_id)
        except Exception as exc:
            log.warning("cannot revoke %s: %s", flight.task_id, exc)
        return self._finish(
            flight, _failed(flight.key, info, retryable=False, cause=reports.Cause.QUEUED_TIMEOUT)
        )

    def _finish(self, flight: InFlight, event: TaskEvent) -> bool:
        self._done(flight)
        self._ready.append(event)
        return True

    def _done(self, flight: InFlight) -> None:
        self._flight.pop(flight.key, None)

    def _forget(self, task_ids: list[str]) -> None:
        if self._reader is None:
            return
        try:
            self._reader.forget(task_ids)
        except Exception as exc:  # they expire in the backend anyway
            log.warning("cannot delete reported results: %s", exc)


def _failed(
    key: TaskKey, info: str, *, retryable: bool, cause: reports.Cause = reports.Cause.REPORTED
) -> TaskEvent:
    """A failure the executor saw on the worker's side (the try never reported it)."""
    return TaskEvent(key, reports.failed_by_executor(info, retryable=retryable, cause=cause))


def _no_subscription(producer: Any, task_id: str) -> None:
    del producer, task_id
