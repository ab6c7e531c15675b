"""``dags test``: one run of one DAG, driven in this process, as Airflow's ``dags test`` does.

The DAG files are parsed once; the run ``test__<logical date>`` is created (a run of that id
from an earlier test is replaced) and started at once. The DAG's paused flag is left as it is:
no scheduler creates other runs of a paused DAG meanwhile, nor queues this run's tries. Then
each ready try runs here, one at a time, with its log on the terminal, and what it reports is
applied as the scheduler applies it (:mod:`tradewind.scheduler.events`: trigger rules, retries,
skips), until the run ends. A retry or a rescheduled sensor waits for its time; the DAG's
callback runs here too. Tries of the run that a scheduler queued (its DAG unpaused) run there,
and this waits for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tradewind import reports
from tradewind.exceptions import TradewindError
from tradewind.executors.base import TaskEvent
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import triggers as trigger_store
from tradewind.metastore.types import utcnow
from tradewind.parsing.processor import DagProcessor
from tradewind.runtime import localtrigger
from tradewind.runtime.dag_callbacks import run_dag_callback
from tradewind.runtime.runner import run_workload
from tradewind.scheduler import dagruns, events, fullpass, queueing
from tradewind.scheduler.backfill import FINISHED_RUN_STATES
from tradewind.scheduler.callbacks import Callback
from tradewind.scheduler.trigger import trigger_dag
from tradewind.settings import Settings
from tradewind.states import DagRunState
from tradewind.workloads import Workload

log = logging.getLogger(__name__)

# The longest wait between two looks at the run while nothing can run here.
IDLE_WAIT = 1.0


class DagTestError(TradewindError):
    """The test run cannot be created (an unknown DAG, a bad conf)."""


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str | None
    try_number: int
    duration: float | None  # seconds
    map_index: int = -1

    @property
    def name(self) -> str:
        """The task id, with ``[i]`` for an instance of a mapped task."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass(frozen=True)
class DagTestResult:
    run_id: str
    state: str | None  # the run's state at the end (None: the run is gone)
    tasks: list[TaskOutcome]  # by task id

    @property
    def ok(self) -> bool:
        return self.state == DagRunState.SUCCESS.value


class _Collected:
    """The channel of a try run here: keeps what it reports."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: Mapping[str, Any]) -> None:
        self.messages.append(dict(message))


def run_dag_test(
    settings: Settings,
    sessions: sessionmaker[Session],
    dag_id: str,
    *,
    logical_date: datetime,
    conf: dict[str, Any] | None,
) -> DagTestResult:
    """Parse the DAG files, run ``dag_id`` once at ``logical_date`` in this process and return
    how its tasks ended. Raises DagTestError when the run cannot be created."""
    DagProcessor(settings, sessions).scan()
    run_id = f"test__{logical_date.isoformat()}"
    cache = dagruns.DagCache(max_map_length=settings.core.max_map_length)
    try:
        with sessions.begin() as session:
            started = _start(session, cache, dag_id, run_id, logical_date=logical_date, conf=conf)
    except TradewindError as exc:
        raise DagTestError(str(exc)) from None
    if started.callback is not None:
        _call_back(settings, started.callback)
    state = _drive(settings, sessions, cache, (dag_id, run_id))
    with sessions() as session:
        tasks = [
            TaskOutcome(ti.task_id, ti.state, ti.try_number, ti.duration, ti.map_index)
            for ti in task_store.instances_of_run(session, dag_id, run_id)
        ]
    return DagTestResult(run_id, state, tasks)


def _start(
    session: Session,
    cache: dagruns.DagCache,
    dag_id: str,
    run_id: str,
    *,
    logical_date: datetime,
    conf: dict[str, Any] | None,
) -> dagruns.Advance:
    """Replace an earlier test run of that id, create the run and start it."""
    earlier = run_store.get_run(session, dag_id, run_id)
    if earlier is not None:
        run_store.delete_run(session, earlier)
    now = utcnow()
    run = trigger_dag(session, dag_id, now=now, run_id=run_id, conf=conf, logical_date=logical_date)
    dag = dagruns.dag_of(session, cache, run)
    started = dagruns.start_run(session, cache, run, dag, now) if dag is not None else None
    if started is None:
        raise DagTestError(f"the run {run_id!r} of {dag_id} cannot start")
    return started


def _drive(
    settings: Settings,
    sessions: sessionmaker[Session],
    cache: dagruns.DagCache,
    run: tuple[str, str],
) -> str | None:
    """Run the run's ready tries here until the run ends; returns its last state."""
    reported: list[TaskEvent] = []
    waiting_said = False
    while True:
        now = utcnow()
        with sessions.begin() as session:
            callbacks: list[Callback] = []
            if reported:
                callbacks = events.apply(session, cache, reported, now).callbacks
            fullpass.wake_due_tries(session, now, settings.scheduler.max_tis_per_query)
            ready = queueing.queue_ready(
                session, cache, room=1, job_id=None, now=now, fetch=1, run=run
            )
            current = run_store.get_run(session, *run)
            wait = fullpass.seconds_until_due(session, now, IDLE_WAIT)
        if _resolve_deferrals(sessions, reported):
            wait = 0.0
        reported = []
        for callback in callbacks:
            _call_back(settings, callback)
        state = current.state if current is not None else None
        if state is None or state in FINISHED_RUN_STATES:
            return state
        for workload in ready:
            reported += _run_here(workload, settings)
        if not ready:
            if not waiting_said:
                log.info("waiting: no task of the run can start yet")
                waiting_said = True
            time.sleep(max(wait, 0.05))
        else:
            waiting_said = False


def _resolve_deferrals(sessions: sessionmaker[Session], reported: list[TaskEvent]) -> bool:
    """Tries that deferred wait for their triggers here, one after the other (there is no
    triggerer in a test); what each trigger did is written as a triggerer writes it. Returns
    whether any try deferred."""
    found = False
    for event in reported:
        report = event.report
        if not isinstance(report, reports.Finished) or report.deferral is None:
            continue
        found = True
        resumption = localtrigger.wait(report.deferral)
        key = event.key
        with sessions.begin() as session:
            ti = task_store.get_instance(
                session, key.dag_id, key.run_id, key.task_id, key.map_index
            )
            if ti is None or ti.trigger_id is None:
                continue
            now = utcnow()
            if resumption.end_state is not None:
                trigger_store.end_tasks(session, ti.trigger_id, resumption.end_state, now=now)
            elif resumption.next_method == reports.FAIL_METHOD:
                failure = resumption.next_kwargs or {}
                error = str(failure.get("error", "the trigger failed"))
                timeout = bool(failure.get("timeout"))
                trigger_store.fail(session, ti.trigger_id, error, now=now, timeout=timeout)
            else:
                payload = (resumption.next_kwargs or {}).get("event")
                trigger_store.fire(session, ti.trigger_id, payload, now=now)
    return found


def _run_here(workload: Workload, settings: Settings) -> list[TaskEvent]:
    """Run one try in this process, its log on the terminal; return what it reported."""
    channel = _Collected()
    run_workload(workload, channel, settings, on_terminal=True)
    events_of_try = [TaskEvent(workload.key, reports.decode(m)) for m in channel.messages]
    if not any(isinstance(e.report, reports.Finished) for e in events_of_try):
        events_of_try.append(TaskEvent(workload.key, reports.lost("the try ended without a word")))
    return events_of_try


def _call_back(settings: Settings, callback: Callback) -> None:
    run_dag_callback(
        settings, Path(callback.fileloc), callback.dag_id, callback.run_id, callback.outcome.value
    )
