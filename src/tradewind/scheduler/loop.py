"""The scheduler loop: metastore <-> decisions <-> executor.

One pass (:meth:`Scheduler.step`) applies the executor's events (what a try's end means:
:mod:`tradewind.scheduler.outcomes`), does the full pass when it is due (creating and starting
runs, settling the runs something changed in, waking waiting tries:
:mod:`tradewind.scheduler.fullpass`), ends restarts (:mod:`tradewind.scheduler.restarts`) and
queues what is ready; it returns what it decided (:class:`Pass`), which the loop acts on once
it has committed. Heartbeats, the orphan sweep and run timeouts are in
:mod:`tradewind.scheduler.housekeeping`, DAG callback processes in
:mod:`tradewind.scheduler.callbacks`. Between passes the loop sleeps inside
``executor.poll``: it wakes the moment a try reports, at the next due time, when another
process changed the metastore (see :mod:`tradewind.scheduler.wakeups`), or at the latest
after :attr:`Scheduler.poll_interval` to look for such work unprompted.

A pass that fails because the metastore is away (see :mod:`tradewind.metastore.outage`) is
rolled back and tried again after a backoff, with everything the executor reported meanwhile;
a pass whose COMMIT was cut off is settled first (see :mod:`tradewind.scheduler.cutoff`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tradewind import reports
from tradewind.executors.base import BaseExecutor, TaskEvent
from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.types import utcnow
from tradewind.scheduler import (
    cutoff,
    dagruns,
    events,
    fullpass,
    metered,
    observe,
    queueing,
    restarts,
)
from tradewind.scheduler.abandoned import Abandoned
from tradewind.scheduler.callbacks import Callback, DagCallbacks, TaskCallback
from tradewind.scheduler.housekeeping import Housekeeping
from tradewind.settings import Settings
from tradewind.telemetry import dispatch, relay
from tradewind.workloads import TaskKey, Workload

log = logging.getLogger(__name__)

JOB_TYPE = job_store.SCHEDULER
# How long a try's running report may wait for its finished report, to be applied together.
RUNNING_REPORT_DELAY = 0.05
# A change of the metastore seen this soon after a pass of ours is taken for our own commit.
OWN_COMMIT_WINDOW = 0.05
# How often the loop looks whether the process of a try stopped for a restart has ended (its
# executor reports no event for that: the try reported its end already).
RESTART_CHECK_INTERVAL = 0.05
OUTAGE_MEANWHILE = (
    f"trying again every {outage.MAX_DELAY:g} s at most, keeping what the executor reports"
)


class LeaseHeld(Exception):
    """Another scheduler runs against this SQLite metastore."""


@dataclass
class Pass:
    """What one pass decided, acted on once its transaction has committed: the tries to hand
    to the executor, the DAG callbacks to start, the tries that reported their end, the
    restarting tries still waiting for their process to end, and when the next full pass is
    due (time.monotonic())."""

    busy: bool
    full_at: float
    workloads: list[Workload] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    # The alerts of tries that failed outside their own process (see callbacks).
    task_callbacks: list[TaskCallback] = field(default_factory=list)
    reported: set[TaskKey] = field(default_factory=set)
    restarts: dict[TaskKey, datetime | None] = field(default_factory=dict)
    # For the metrics (see metered): what the events did, the runs that finished or started,
    # the tries that waited for pool slots.
    applied: events.Applied | None = None
    runs: list[dagruns.Advance] = field(default_factory=list)
    starving: list[int] = field(default_factory=list)
    # Scheduled tries the queueing read and left (see queueing.queue_ready): 0, none.
    left: list[int] = field(default_factory=list)
    # For traces and lineage (see observe): the tries and runs that started or ended.
    observed: observe.Notes | None = None


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        executor: BaseExecutor,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.executor = executor
        self.clock = clock
        self.cache = dagruns.DagCache(max_map_length=settings.core.max_map_length)
        self.job_id: int | None = None
        self.callbacks = DagCallbacks(settings)
        self.abandoned = Abandoned()
        # Traces and lineage of the tries and runs that passes start and end (see observe),
        # and the StatsD and OpenTelemetry metrics, sent by the telemetry process (see relay).
        self.observer = dispatch.Telemetry.from_settings(settings)
        self.metrics = relay.metrics_for(settings.metrics, "scheduler", self.observer.send)
        self.housekeeping = Housekeeping(
            settings, sessions, executor, self.abandoned, metrics=self.metrics
        )
        self.housekeeping.observer = self.observer
        self._runs_seen = observe.RunsSeen()
        self._read_sessions: sessionmaker[Session] | None = None
        # Events polled but not yet applied: kept across run/run_until calls, never dropped.
        self._pending: list[TaskEvent] = []
        # How often the full pass looks for work that other processes added, unprompted. Who
        # can tell the scheduler about such work (see wakeups) makes it look far less often.
        self.poll_interval = settings.scheduler.wake_interval
        # When the next full pass is due (time.monotonic()); 0: at the next pass.
        self._full_at = 0.0
        # A look asked for (look_now) since the current pass began: kept over that pass's
        # own next due time, which was decided before the ask came.
        self._look_asked = False
        self._committed_at = 0.0
        # Whether the last pass left no scheduled try behind (see step).
        self._settled = False
        # Another process changed the metastore: look for tries of ours it no longer expects
        # (cleared: restarting; marked by hand; run deleted) after the next pass, and stop them.
        self._check_tries = False
        # Restarting tries waiting for their process to end (see restarts).
        self._restarts: dict[TaskKey, datetime | None] = {}
        # The metastore as this scheduler sees it; a pass whose COMMIT was cut off, to settle
        # before the next one; when to try again while it is away.
        self.outage = outage.Outage("the scheduler", log, meanwhile=OUTAGE_MEANWHILE)
        self._cut_off: cutoff.CutOff | None = None
        self._retry_at = 0.0

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Register this scheduler (on SQLite: only if no other one is alive) and its executor.
        Safe to call again after it failed (the metastore went away)."""
        now = self.clock()
        if self.job_id is None:
            self.job_id = self._register(now)
        self.executor.start()
        self.metrics.start()
        self.observer.start()
        self.housekeeping.adopt_or_reset_orphans(self.job_id, self.clock(), self.cache)

    def _register(self, now: datetime) -> int:
        with self.sessions.begin() as session:
            if session.get_bind().dialect.name == "sqlite":
                others = job_store.alive_jobs(
                    session, JOB_TYPE, now=now, timeout=self.settings.scheduler.job_timeout
                )
                if others:
                    other = others[0]
                    raise LeaseHeld(
                        f"another scheduler (pid {other.pid} on {other.hostname}) is running "
                        "on this SQLite metastore; only one may run at a time"
                    )
            return job_store.start_job(
                session,
                JOB_TYPE,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                executor=type(self.executor).__name__,
                now=now,
            )

    def stop(self) -> None:
        """Record what the executor reported, close it, end this scheduler's job. With the
        metastore away, say so and stop all the same: the next scheduler adopts or resets the
        tries of this one, as it does those of a scheduler that died."""
        away: Exception | None = None
        try:
            if self._pending:
                # What finished before the stop is recorded; a restart must not run it again.
                # (The DAG callbacks of runs this finishes are not started: it is stopping.)
                with self.sessions.begin() as session:
                    events.apply(session, self.cache, self._pending, self.clock())
                self._pending = []
        except Exception as error:
            if not outage.is_outage(error):
                raise
            away = error
        finally:
            self.executor.close()
            self.observer.close()
        if self.job_id is not None and away is None:
            try:
                with self.sessions.begin() as session:
                    job_store.end_job(session, self.job_id, self.clock())
            except Exception as error:
                if not outage.is_outage(error):
                    raise
                away = error
        self.metrics.close()
        if away is not None:
            log.warning(
                "stopping with the metastore away (%s): %d reports of tries are not recorded; "
                "the next scheduler adopts or resets this one's tries",
                outage.describe(away),
                len(self._pending),
            )

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set (set it, then call ``executor.wakeup()``, to stop fast)."""
        self._loop(stop.is_set, idle=float("inf"))

    def run_until(self, done: Callable[[], bool], *, timeout: float) -> None:
        """Loop until ``done()`` is true or ``timeout`` seconds pass (tests, ``dags test``)."""
        deadline = time.monotonic() + timeout
        # The caller may have changed the metastore since the last call: look at everything.
        self._full_at = 0.0
        self._check_tries = True
        self._loop(lambda: done() or time.monotonic() >= deadline, idle=0.05)

    def _loop(self, over: Callable[[], bool], *, idle: float) -> None:
        while not over():
            busy = self._pass()
            if busy is not None:
                # After a busy pass, what came meanwhile is taken at once (reports arrive
                # while a pass runs: the next takes them together). A pass that queued all it
                # found waits for the next report rather than pass again to find nothing (in a
                # chain: one empty pass per task).
                found = self._wait(0.0) if busy else []
                if not found and (not busy or (self._settled and time.monotonic() < self._full_at)):
                    found = self._wait(min(idle, self._idle_wait()))
                self._pending += found
                continue
            # The metastore is away: keep what the executor reports until the next try.
            while not over() and (left := self._retry_at - time.monotonic()) > 0:
                self._pending += self.executor.poll(left)

    def _pass(self) -> bool | None:
        """One pass (see :meth:`step`); None when the metastore is away (it is tried again,
        with everything, after :attr:`_retry_at`). Other errors rise."""
        try:
            if self._cut_off is not None:
                self._settle_cut_off()
            busy = self.step()
        except Exception as error:
            if not outage.is_outage(error):
                raise
            self._retry_at = time.monotonic() + self.outage.lost(error)
            # Once back: a heartbeat at once (it may be stale by then), a full pass, and a
            # look at the tries that others may have changed meanwhile.
            self.housekeeping.beat_soon()
            self._full_at = 0.0
            self._check_tries = True
            return None
        self.outage.back()
        return busy

    def _settle_cut_off(self) -> None:
        assert self._cut_off is not None
        with self.sessions() as session:
            workloads, callbacks = self._cut_off.settle(session, self.job_id)
            alerts = self._cut_off.settle_alerts(session) if self._cut_off.task_callbacks else []
        self._cut_off = None
        self.callbacks.start(callbacks)
        self.callbacks.start_for_tries(alerts)
        for workload in workloads:
            self.executor.submit(workload)

    def _wait(self, timeout: float) -> list[TaskEvent]:
        """The executor's next events; a lone running report waits a moment for company.

        A no-op try reports running and finished within milliseconds: applying both in one
        pass is one write instead of two, and the pass that queues the next task comes no
        later (it waits on the finished report anyway).
        """
        pending = self.executor.poll(timeout)
        if pending and all(isinstance(e.report, reports.Running) for e in pending):
            pending += self.executor.poll(RUNNING_REPORT_DELAY)
        return pending

    # ---- one pass --------------------------------------------------------------------------

    def step(self) -> bool:
        """One pass over the pending events; True when it did something (so the next pass
        should come at once).

        Every pass applies the events and queues what is ready, in one transaction. The
        *full* pass also creates and starts runs, settles runs changed by other processes and
        wakes waiting tries; it comes every :attr:`poll_interval`, at the next due time, when
        another process changed the metastore, and right after a run finished (which may let
        a queued run start). What the pass decided (:class:`Pass`) is acted on once it has
        committed.
        """
        now = self.clock()
        began = time.perf_counter()
        done: Pass | None = None
        try:
            with self.sessions.begin() as session:
                done = self._decide(session, now)
        except Exception:
            # Rolled back; or, with a decision, the COMMIT was cut off (see cutoff). The
            # events stay pending, the pass is done again.
            if done is not None and (done.workloads or done.callbacks or done.task_callbacks):
                self._cut_off = cutoff.CutOff(done.workloads, done.callbacks, done.task_callbacks)
            raise
        self._act(done)
        seconds, queued = time.perf_counter() - began, len(done.workloads)
        metered.emit_pass(
            self.metrics,
            seconds,
            queued=queued,
            starving=sum(done.starving),
            applied=done.applied,
            runs=done.runs,
        )
        self._housekeeping(now)
        # What a pass changes makes new work only through its own queueing, which comes last:
        # when that left no scheduled try behind, only a report, the full pass or another
        # process's change (each wakes the loop) gives the next pass something to do.
        self._settled = sum(done.left) == 0
        return done.busy or bool(done.workloads) or self._full_at <= time.monotonic()

    def _decide(self, session: Session, now: datetime) -> Pass:
        """The pass's work in its transaction: apply the events, the full pass when due, end
        restarts whose process has ended, queue what is ready."""
        tick = time.monotonic()
        self._look_asked = False
        if self.observer.enabled:
            observe.watch(session, starts=self.observer.wants_starts)
        applied = events.apply(session, self.cache, self._pending, now) if self._pending else None
        done = Pass(
            busy=bool(applied and applied.changed),
            full_at=self._full_at,
            callbacks=list(applied.callbacks) if applied else [],
            task_callbacks=list(applied.task_callbacks) if applied else [],
            applied=applied,
            runs=list(applied.runs) if applied else [],
        )
        if tick >= self._full_at:
            full = fullpass.run(
                session, self.cache, now, self.settings.scheduler, interval=self.poll_interval
            )
            done.full_at = tick + full.wait
            done.busy = done.busy or full.did
            done.callbacks += full.callbacks
            done.runs += full.runs
        elif applied is not None and applied.asset_events:
            # Their consumers' runs are created and started in this same transaction.
            started = fullpass.asset_runs(session, self.cache, now, self.settings.scheduler)
            done.busy = done.busy or started.did
            done.callbacks += started.callbacks
            done.runs += started.runs
        waiting = dict(self._restarts)
        if applied is not None:
            done.reported = applied.reported
            waiting.update(applied.restarting)
            if applied.finished_runs:
                done.full_at = 0.0
            if applied.wait_until is not None:
                wait = (applied.wait_until - now).total_seconds()
                done.full_at = min(done.full_at, tick + max(0.0, wait))
        if waiting:
            ended = restarts.end(session, self.cache, waiting, self.executor.active_keys(), now)
            done.restarts = ended.waiting
            done.callbacks += ended.callbacks
            done.busy = done.busy or len(done.restarts) < len(waiting)
        if self.observer.enabled:
            done.observed = observe.taken(session)
        known_runs = applied.locked if applied is not None else {}
        done.workloads = self._queue(session, now, done, known_runs)
        return done

    def _act(self, done: Pass) -> None:
        """Act on a committed pass: record it, start its callbacks, hand over its tries, and
        stop abandoned tries when another process changed the metastore."""
        self._pending = []
        self._committed_at = time.monotonic()
        self._full_at = 0.0 if self._look_asked else done.full_at
        self._restarts = done.restarts
        self.abandoned.reported(done.reported)
        self.callbacks.start(done.callbacks)
        self.callbacks.start_for_tries(done.task_callbacks)
        for workload in done.workloads:
            self.executor.submit(workload)
        if done.observed is not None:
            self.observer.send(
                observe.read_after(
                    self._reads(),
                    done.observed,
                    self.cache,
                    self.settings.logging.base_log_folder,
                    self.observer.executor,
                    runs=self._runs_seen,
                )
            )
        if self._check_tries:
            self._check_tries = False
            self.abandoned.stop(self.sessions, self.executor)

    def _reads(self) -> sessionmaker[Session]:
        """Read-only sessions on the scheduler's database (on SQLite they take no lock)."""
        if self._read_sessions is None:
            bind = self.sessions.kw["bind"]
            self._read_sessions = engine_module.session_factory(
                bind.execution_options(**{engine_module.READ_ONLY: True})
            )
        return self._read_sessions

    def _idle_wait(self) -> float:
        """Until the next full pass, or the next heartbeat if that comes first."""
        beat = self.housekeeping.next_beat()
        wait = max(0.0, min(self._full_at, beat) - time.monotonic())
        return min(wait, RESTART_CHECK_INTERVAL) if self._restarts else wait

    def look_now(self) -> None:
        """Run the full pass at once (safe from any thread)."""
        self._look_asked = True
        self._full_at = 0.0
        self.executor.wakeup()

    def outside_request(self) -> None:
        """Another process asked this scheduler to look (it changed something): look at once."""
        self._check_tries = True
        self.look_now()

    def outside_change(self) -> None:
        """The metastore changed (the waker thread says so): look at once, unless the change
        is most likely this scheduler's own last commit. One missed is found by the next
        regular full pass."""
        if time.monotonic() - self._committed_at > OWN_COMMIT_WINDOW:
            self._check_tries = True
            self.look_now()

    def _queue(
        self,
        session: Session,
        now: datetime,
        done: Pass,
        known_runs: Mapping[tuple[str, str], DagRun],
    ) -> list[Workload]:
        room = self.executor.free_slots
        if room <= 0:
            return []
        return queueing.queue_ready(
            session,
            self.cache,
            room=room,
            job_id=self.job_id,
            now=now,
            fetch=self.settings.scheduler.max_tis_per_query,
            external_id=self.executor.external_id if self.executor.supports_adoption else None,
            starving=done.starving,
            left=done.left,
            known_runs=known_runs,
        )

    def _housekeeping(self, now: datetime) -> None:
        """The heartbeat and the sweep, when due (see :mod:`housekeeping`)."""
        if self.housekeeping.run(self.job_id, now, self.cache):
            self._committed_at = time.monotonic()
