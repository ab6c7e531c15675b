"""The triggerer's main loop: a job row with heartbeats, the triggers it takes and drops, and
what their ends write.

Every :data:`LOOK_INTERVAL` seconds (or ``triggerer.job_heartbeat_sec``, when shorter), and at
once when a trigger ends, one pass (:meth:`Triggerer.step`), each step in a short transaction of
its own:

1. writes the outcomes of triggers that ended (:mod:`tradewind.metastore.store.triggers`:
   ``fire``, ``end_tasks``, ``fail``), all of them in one transaction;
2. heartbeats when ``triggerer.job_heartbeat_sec`` has passed since the last heartbeat, and
   claims triggers up to its capacity (unowned ones, or a dead triggerer's);
3. starts the triggers it owns and does not run yet, cancels those it runs and no longer owns
   (another triggerer took them) or that no deferred try waits on any more (cleared, marked,
   timed out), and deletes unused trigger rows now and then.

A pass with nothing to write writes nothing: on SQLite every commit of another process wakes
the scheduler for a pass of its own (:mod:`tradewind.scheduler.wakeups`), so an idle
triggerer that committed a heartbeat at every look cost the scheduler a pass a second.

Asset watchers are triggers too (:mod:`.watching`): one runs while an active, unpaused DAG is
scheduled on its asset, each of its events is written as an update of the asset, and it starts
again when its ``run()`` ends.

A trigger that cannot be built (a bad class path, bad arguments) fails its tries at once. While
the metastore is away the pass is tried again after a backoff (:mod:`tradewind.metastore.outage`);
outcomes not yet written are kept, and written once it is back (each write is guarded, so one
that comes too late changes nothing). Any other error of a pass is logged and the pass tried
again later: the triggerer never ends because of one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tradewind import telemetry
from tradewind.metastore import outage
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import triggers as trigger_store
from tradewind.metastore.types import utcnow
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.triggerer.runner import Outcome, TriggerRunner
from tradewind.triggerer.watching import Watchers
from tradewind.triggers import serde
from tradewind.triggers.base import (
    BaseTrigger,
    TaskFailedEvent,
    TaskSkippedEvent,
    TaskSuccessEvent,
    TriggerError,
    build_trigger,
)

log = logging.getLogger(__name__)

# A triggerer looks for new triggers this often (a deferred try waits at most this long to
# have its trigger started), whatever its heartbeat interval.
LOOK_INTERVAL = 1.0
# Unused trigger rows (their tries cleared or marked) are deleted this often.
CLEANUP_INTERVAL = 5.0
# Between passes that failed for another reason than an outage (a bug): 1 s up to 30 s.
BUG_DELAY = (1.0, 30.0)


class LeaseHeld(Exception):
    """Another triggerer runs against this SQLite metastore."""


class Triggerer:
    """One triggerer process's state: its job, its runner, the outcomes not yet written."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        capacity: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.capacity = capacity or settings.triggerer.capacity
        self.clock = clock
        self.job_id: int | None = None
        self.wake = threading.Event()
        self.runner = TriggerRunner(
            base_log_folder=settings.logging.base_log_folder,
            on_outcome=self.wake.set,
            blocked_threshold=settings.triggerer.blocked_loop_threshold,
        )
        self.outage = outage.Outage(
            "the triggerer", log, meanwhile="its triggers keep running; their events wait"
        )
        self._bugs = outage.Backoff(*BUG_DELAY)
        self._pending: dict[int, Outcome] = {}
        self.watchers = Watchers()
        self._cleanup_at = 0.0
        self._heartbeat_at = 0.0
        self.metrics = telemetry.metrics_for(settings.metrics, "triggerer")
        self._hostname = socket.gethostname()

    # ---- life cycle ------------------------------------------------------------------------

    def register(self) -> None:
        """Start this triggerer's job (on SQLite only if no other triggerer is alive)."""
        timeout = self.settings.triggerer.job_timeout
        with self.sessions.begin() as session:
            now = self.clock()
            if session.get_bind().dialect.name == "sqlite":
                other = trigger_store.other_alive_triggerer(session, now=now, timeout=timeout)
                if other is not None:
                    raise LeaseHeld(
                        f"another triggerer (pid {other.pid} on {other.hostname}) is running "
                        "on this SQLite metastore; only one may run at a time"
                    )
            self.job_id = job_store.start_job(
                session,
                trigger_store.TRIGGERER,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                executor=None,
                now=now,
            )
        self.runner.job_id = self.job_id
        self.runner.start()
        self.metrics.start()

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set (call :meth:`wake.set` too, to stop at once)."""
        interval = min(LOOK_INTERVAL, self.settings.triggerer.job_heartbeat_sec)
        while not stop.is_set():
            self.wake.clear()
            wait = interval
            try:
                self.step()
            except Exception as error:
                wait = self._failed(error)
            else:
                self.outage.back()
                self._bugs.reset()
            self.wake.wait(wait)

    def _failed(self, error: Exception) -> float:
        if outage.is_outage(error):
            return self.outage.lost(error)
        delay = self._bugs.next()
        log.error("a triggerer pass failed; next try in %g s", delay, exc_info=error)
        return delay

    def stop(self) -> None:
        """Cancel the triggers (cleanup() runs), write what ended, give the triggers up (another
        triggerer takes them at once) and end the job. Best effort with the metastore away."""
        self.runner.stop()
        try:
            self._release()
        finally:
            self.metrics.close()

    def _release(self) -> None:
        if self.job_id is None:
            return
        try:
            self._write_outcomes()
            with self.sessions.begin() as session:
                released = trigger_store.release(session, self.job_id)
                job_store.end_job(session, self.job_id, self.clock())
            log.info("triggerer stopped; %d triggers released for another triggerer", released)
        except Exception as error:
            if not outage.is_outage(error):
                raise
            log.warning(
                "stopping with the metastore away (%s): another triggerer takes this one's "
                "triggers once its heartbeat is %g s old",
                outage.describe(error),
                self.settings.triggerer.job_timeout,
            )

    # ---- one pass --------------------------------------------------------------------------

    def step(self) -> None:
        """One pass (see the module docstring)."""
        assert self.job_id is not None, "register() first"
        self._write_outcomes()
        timeout = self.settings.triggerer.job_timeout
        beat = time.monotonic() >= self._heartbeat_at
        # One transaction: the claim, then what this triggerer owns (its new claims included);
        # triggers are dropped and started only once it has committed.
        with self.sessions.begin() as session:
            now = self.clock()
            if beat:
                job_store.heartbeat(session, self.job_id, now)
            room = self.capacity - len(self.runner.running) - len(self._pending)
            trigger_store.claim(session, self.job_id, room=room, now=now, timeout=timeout)
            owned = trigger_store.assigned(session, self.job_id)
            new = self.watchers.startable(owned - self.runner.running - set(self._pending))
            rows = trigger_store.load(session, new)
        if beat:
            self._heartbeat_at = time.monotonic() + self.settings.triggerer.job_heartbeat_sec
            running = len(self.runner.running)
            self.metrics.triggerer_heartbeat(
                self._hostname, running=running, capacity=self.capacity
            )
        for gone in self.runner.running - owned:
            self.runner.cancel(gone)
            self.watchers.dropped(gone)
        for row in rows:
            self._start(row)
        if time.monotonic() >= self._cleanup_at:
            with self.sessions.begin() as session:
                trigger_store.delete_unused(session)
            self._cleanup_at = time.monotonic() + CLEANUP_INTERVAL
        if self._pending or self.watchers.pending:
            self._write_outcomes()

    def _start(self, row: trigger_store.TriggerRow) -> None:
        try:
            trigger = _build(row.classpath, row.kwargs)
        except TriggerError as error:
            if row.watching:
                self.watchers.failed(row.id, str(error))
                return
            log.error("trigger %d cannot run: %s", row.id, error)
            self._pending[row.id] = Outcome(row.id, error=str(error))
            return
        if row.watching:
            self.watchers.started(row.id)
        self.runner.add(row.id, trigger, row.waiting, every_event=bool(row.watching))

    def _write_outcomes(self) -> None:
        """Write the outcomes that came in (and those an outage held back), in one transaction."""
        for outcome in self.runner.outcomes():
            if not self.watchers.take(outcome):
                self._pending[outcome.trigger_id] = outcome
            if outcome.final:
                self.metrics.trigger_ended(failed=outcome.error is not None)
        if not self._pending and not self.watchers.pending:
            return
        with self.sessions.begin() as session:
            now = self.clock()
            for outcome in self._pending.values():
                _write(session, outcome, now)
            self.watchers.write(session, now)
        self._pending.clear()
        self.watchers.written()


def _build(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """The trigger, or a TriggerError that says why it cannot be built."""
    try:
        return build_trigger(classpath, serde.decode(kwargs))
    except TriggerError:
        raise
    except Exception as error:
        raise TriggerError(
            f"{classpath}: cannot build the trigger from its arguments: "
            f"{type(error).__name__}: {error}"
        ) from error


def _write(session: Session, outcome: Outcome, now: datetime) -> None:
    trigger_id = outcome.trigger_id
    event = outcome.event
    if event is None:
        trigger_store.fail(session, trigger_id, outcome.error or "the trigger failed", now=now)
        return
    if isinstance(event, TaskSuccessEvent | TaskFailedEvent | TaskSkippedEvent):
        reason = None
        if event.state is TaskState.FAILED:
            reason = f"its trigger ended it as failed: {event.payload!r}"
        trigger_store.end_tasks(session, trigger_id, event.state, now=now, reason=reason)
        return
    try:
        payload = serde.encode(event.payload)
    except serde.SerdeError as error:
        trigger_store.fail(session, trigger_id, f"its event cannot be stored: {error}", now=now)
        return
    trigger_store.fire(session, trigger_id, payload, now=now)
