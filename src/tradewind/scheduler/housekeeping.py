"""What a scheduler does now and then besides its passes: its heartbeat (every
``scheduler.heartbeat_interval``), and every half ``scheduler.job_timeout`` a sweep that adopts
or resets the tries of schedulers that are gone (:mod:`tradewind.scheduler.orphans`), fails runs
past their dagrun_timeout and stops the tries the metastore no longer expects
(:mod:`tradewind.scheduler.abandoned`); and the deadline alerts
(:mod:`tradewind.scheduler.deadlines`)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tradewind import telemetry
from tradewind.executors.base import BaseExecutor
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.scheduler import dagruns, metered, observe, orphans
from tradewind.scheduler.abandoned import Abandoned
from tradewind.scheduler.deadlines import DeadlineWatch
from tradewind.settings import Settings
from tradewind.states import DagRunState, TaskState
from tradewind.telemetry import Metrics, dispatch

log = logging.getLogger(__name__)

# What a run past its dagrun_timeout skips: every task not done yet. Running tries too, as in
# Airflow: the stopped try's own report then comes too late to count, so it cannot be retried
# in a finished run.
_UNFINISHED = frozenset(
    {
        TaskState.NONE,
        TaskState.SCHEDULED,
        TaskState.QUEUED,
        TaskState.RUNNING,
        TaskState.RESTARTING,
        TaskState.UP_FOR_RETRY,
        TaskState.UP_FOR_RESCHEDULE,
    }
)
_HELD = (TaskState.QUEUED, TaskState.RUNNING, TaskState.RESTARTING)


class Housekeeping:
    """When the heartbeat and the sweep are due, and doing them."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        executor: BaseExecutor,
        abandoned: Abandoned,
        metrics: Metrics = telemetry.OFF,
    ) -> None:
        self.settings = settings.scheduler
        self.sessions = sessions
        self.executor = executor
        self.abandoned = abandoned
        self.deadlines = DeadlineWatch(settings, sessions)
        self.metrics = metrics
        # Traces and lineage of the runs that time out (the scheduler sets it).
        self.observer = dispatch.Telemetry()
        self._last_heartbeat = 0.0
        self._last_sweep = 0.0

    def beat_soon(self) -> None:
        """Beat at the next chance (after an outage the last one may be stale)."""
        self._last_heartbeat = 0.0

    def next_beat(self) -> float:
        """When the next heartbeat is due (time.monotonic())."""
        return self._last_heartbeat + self.settings.heartbeat_interval

    def run(self, job_id: int | None, now: datetime, cache: dagruns.DagCache) -> bool:
        """The heartbeat and the sweep, each when due; True when it wrote a heartbeat."""
        tick = time.monotonic()
        beat = tick - self._last_heartbeat >= self.settings.heartbeat_interval
        if beat:
            self._last_heartbeat = tick
            if job_id is not None:
                with self.sessions.begin() as session:
                    job_store.heartbeat(session, job_id, now)
                    metered.emit_beat(self.metrics, self.executor, session)
        if tick - self._last_sweep >= self.settings.job_timeout / 2:
            self._last_sweep = tick
            self.adopt_or_reset_orphans(job_id, now, cache)
            self.time_out_runs(cache, now)
            self.abandoned.stop(self.sessions, self.executor)
        self.deadlines.run(cache, now)
        return beat and job_id is not None

    def adopt_or_reset_orphans(
        self, job_id: int | None, now: datetime, cache: dagruns.DagCache
    ) -> None:
        """Tries of schedulers that are gone: adopted or reset (see :mod:`orphans`); the
        running tries it ends are told to traces and lineage as failed."""
        timeout = self.settings.job_timeout
        with self.sessions.begin() as session:
            if self.observer.enabled:
                observe.watch(session)
            found = orphans.sweep(session, self.executor, job_id=job_id, timeout=timeout, now=now)
            observed = observe.collect(session, cache, None, "")
        self.metrics.orphaned_tasks(cleared=found[0], adopted=found[1])
        self.observer.send(observed)

    def time_out_runs(self, cache: dagruns.DagCache, now: datetime) -> None:
        """Runs past their dagrun_timeout fail; their tries are stopped, their tasks skipped."""
        with self.sessions.begin() as session:
            if self.observer.enabled:
                observe.watch(session)
            for run in dagruns.timed_out_runs(session, cache, now):
                if not run_store.finish_run(session, run.id, DagRunState.FAILED, now):
                    continue
                observe.run_changed(session, run, DagRunState.FAILED, now)
                log.warning("run %s of %s failed: dagrun_timeout exceeded", run.run_id, run.dag_id)
                ran = (now - run.start_date).total_seconds() if run.start_date else 0.0
                self.metrics.dagrun_finished(run.dag_id, DagRunState.FAILED.value, ran)
                instances = task_store.instances_of_run(session, run.dag_id, run.run_id)
                for ti in instances:
                    if TaskState(ti.state or TaskState.NONE) in _HELD:
                        self.executor.cancel(ti.key)
                task_store.set_states(
                    session,
                    run.dag_id,
                    run.run_id,
                    {ti.task_id: TaskState.SKIPPED for ti in instances},
                    expected=_UNFINISHED,
                    now=now,
                )
            observed = observe.collect(session, cache, None, "")
        self.observer.send(observed)
