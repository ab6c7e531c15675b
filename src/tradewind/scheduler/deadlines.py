"""Deadline alerts, watched by the scheduler now and then (every
``scheduler.deadline_check_interval`` seconds), never in its passes.

A check reads the unfinished runs (one query on the indexed state), keeps those whose DAG
version has deadline alerts, and for each deadline passed that is not recorded yet records the
miss (one row, unique per run and alert, so that one scheduler of several fires it) and starts
its callback in a process of its own (:mod:`tradewind.runtime.deadline_callbacks`), never
waited on.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tradewind.authoring.deadline import deadline_of
from tradewind.metastore.store import deadlines as deadline_store
from tradewind.scheduler import dagruns
from tradewind.scheduler.callbacks import spawn
from tradewind.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Missed:
    """A deadline just recorded as missed: its callback is due."""

    deadline_id: int
    fileloc: str
    dag_id: str
    run_id: str
    alert_index: int


class DeadlineWatch:
    """When the next check is due, the check, and the callback processes it started."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.interval = settings.scheduler.deadline_check_interval
        self.sessions = sessions
        self._last = 0.0
        self._running: list[subprocess.Popen[bytes]] = []

    def run(self, cache: dagruns.DagCache, now: datetime) -> None:
        """Check when due (a lost metastore goes up to the loop, as in the other sweeps)."""
        tick = time.monotonic()
        if tick - self._last < self.interval:
            return
        self._last = tick
        with self.sessions.begin() as session:
            missed = find_missed(session, cache, now)
        for miss in missed:
            log.warning(
                "run %s of %s missed its deadline alert #%d",
                miss.run_id,
                miss.dag_id,
                miss.alert_index,
            )
            if not self._start(miss):
                with self.sessions.begin() as session:
                    deadline_store.set_callback_state(session, miss.deadline_id, "not started")
        self._running = [proc for proc in self._running if proc.poll() is None]

    def _start(self, miss: Missed) -> bool:
        args = [miss.fileloc, miss.dag_id, miss.run_id, str(miss.alert_index)]
        try:
            self._running.append(spawn(self.settings, "tradewind.runtime.deadline_callbacks", args))
        except OSError as exc:
            log.error("cannot start the deadline callback of %s: %s", miss.dag_id, exc)
            return False
        return True


def find_missed(session: Session, cache: dagruns.DagCache, now: datetime) -> list[Missed]:
    """Record the deadlines that unfinished runs have missed since the last check."""
    watched = []
    for run in deadline_store.unfinished_runs(session):
        dag = cache.get(session, run.serialized_dag_id)
        if dag is not None and dag.deadlines:
            watched.append((run, dag))
    if not watched:
        return []
    recorded = deadline_store.missed_of(session, [run.id for run, _ in watched])
    out = []
    for run, dag in watched:
        for index, spec in enumerate(dag.deadlines):
            if (run.id, index) in recorded:
                continue
            due = deadline_of(spec, run.queued_at, run.logical_date)
            if due is None or due > now:
                continue
            row = deadline_store.record_miss(
                session,
                run,
                index,
                reference=str(spec.get("reference")),
                interval_seconds=float(spec.get("interval") or 0),
                deadline_time=due,
                callback=str(spec.get("callback") or ""),
                now=now,
            )
            if row is not None:
                session.flush()
                out.append(Missed(row.id, dag.fileloc, run.dag_id, run.run_id, index))
    return out
