"""Apply what the executor reports: each report is a guarded state change, then the
downstream tasks of a finished try are settled at once (event-driven readiness).

What a try's end means is decided in :mod:`tradewind.scheduler.outcomes` (pure); this module
reads the facts that needs and writes the decision. A report of a restarting task instance
goes to :mod:`tradewind.scheduler.restarts`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tradewind import reports
from tradewind.executors.base import TaskEvent
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import assets as asset_store
from tradewind.metastore.store import deferrals as deferral_store
from tradewind.metastore.store import finishing, rundata
from tradewind.metastore.store import rendered as rendered_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import tries as try_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.serialized import SerializedDag, SerializedTask
from tradewind.scheduler import decide, observe, outcomes, restarts
from tradewind.scheduler.callbacks import Callback, TaskCallback
from tradewind.scheduler.dagruns import Advance, DagCache, advance_run
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)

# When a try started, on which pid and host (its running report, applied with its end).
Started = tuple[datetime, int | None, str | None]
Touched = dict[tuple[str, str], tuple[DagRun, set[str]]]
# The ends its executor made up for a try whose process could not report (killed, lost, stopped
# at its timeout, never taken from the queue): that process ran none of the try's alerts.
_ENDED_OUTSIDE = frozenset(
    {
        reports.Cause.LOST,
        reports.Cause.NO_HEARTBEAT,
        reports.Cause.TIMED_OUT,
        reports.Cause.QUEUED_TIMEOUT,
    }
)
_ALERTED = frozenset({TaskState.FAILED, TaskState.UP_FOR_RETRY})


@dataclass
class Applied:
    """What applying a batch of events did."""

    changed: int = 0
    # A run finished: queued runs of its DAG may start, later runs may be decided.
    finished_runs: int = 0
    # The DAG callbacks due for the runs that finished.
    callbacks: list[Callback] = field(default_factory=list)
    # The alerts due for tries that failed outside their own process.
    task_callbacks: list[TaskCallback] = field(default_factory=list)
    # What the finished tries rendered, stored once for the whole batch.
    rendered: list[rendered_store.Rendered] = field(default_factory=list)
    # The earliest moment a try of this batch waits for (a retry or a reschedule).
    wait_until: datetime | None = None
    # The tries that reported their end in this batch (their process may still run their
    # callbacks: it is not to be stopped as abandoned).
    reported: set[TaskKey] = field(default_factory=set)
    # Tries of restarting task instances that reported their end (with their start if known).
    restarting: dict[TaskKey, datetime | None] = field(default_factory=dict)
    # Asset events the successful tries of this batch recorded (consumer runs may be due).
    asset_events: int = 0
    # For the metrics: the tries that started (dag_id, task_id), those that ended (with their
    # state, seconds of running and operator), those that ended without a word of their own
    # (whether for want of heartbeat) and the runs that finished.
    started: list[tuple[str, str]] = field(default_factory=list)
    ended: list[tuple[str, str, str, float | None, str | None]] = field(default_factory=list)
    killed: list[tuple[str, str, bool]] = field(default_factory=list)
    runs: list[Advance] = field(default_factory=list)
    # The runs of the tries that ended, as read (and locked) in this transaction.
    locked: dict[tuple[str, str], DagRun] = field(default_factory=dict)

    def waits(self, moment: datetime | None) -> None:
        if moment is not None and (self.wait_until is None or moment < self.wait_until):
            self.wait_until = moment


def apply(session: Session, cache: DagCache, events: Sequence[TaskEvent], now: datetime) -> Applied:
    """Apply events in order.

    Each run whose tasks finished is then settled once for the whole batch, not once per
    event: under load, batches grow and the cost per task falls.
    """
    result = Applied()
    touched: Touched = {}
    # A try that reported running and finished in the same batch is written once.
    ending = {e.key for e in events if isinstance(e.report, reports.Finished)}
    result.reported = ending
    started: dict[TaskKey, Started] = {
        e.key: (min(e.report.at, now), e.report.pid, e.report.hostname)
        for e in events
        if isinstance(e.report, reports.Running) and e.key in ending
    }
    batch = finishing.Batch.read(session, ending)
    # The runs of the tries that ended, locked in one statement, in one order for every
    # scheduler, so that two of them never wait on each other's locks.
    locked = rundata.lock_runs(session, {(key.dag_id, key.run_id) for key in ending})
    result.locked = locked
    for event in sorted(events, key=lambda e: (e.key.dag_id, e.key.run_id)):
        report = event.report
        if isinstance(report, reports.Running) and event.key not in started:
            at = min(report.at, now)
            marked = try_store.mark_running(
                session, event.key, pid=report.pid, hostname=report.hostname, now=at
            )
            result.changed += marked
            if marked:
                result.started.append((event.key.dag_id, event.key.task_id))
                observe.try_started(session, event.key, at, report.pid, report.hostname)
        elif isinstance(report, reports.Finished):
            running = started.get(event.key)
            result.changed += _finished(
                session,
                cache,
                event.key,
                report,
                now,
                run=locked.get((event.key.dag_id, event.key.run_id)),
                touched=touched,
                result=result,
                running=running,
                batch=batch,
            )
    batch.write(session)
    # One statement for the batch; none when no try rendered anything (no template fields).
    rendered_store.set_rendered(session, result.rendered)
    # The states of every run to advance, in one statement.
    states = task_store.instance_states_of_runs(session, touched)
    for key, (run, candidates) in touched.items():
        advance = advance_run(session, cache, run, candidates, now, states=states.get(key, {}))
        if advance.outcome is not None:
            result.finished_runs += 1
            result.runs.append(advance)
        if advance.callback is not None:
            result.callbacks.append(advance.callback)
    return result


def _finished(
    session: Session,
    cache: DagCache,
    key: TaskKey,
    report: reports.Finished,
    now: datetime,
    *,
    run: DagRun | None,
    touched: Touched,
    result: Applied,
    running: Started | None,
    batch: finishing.Batch,
) -> bool:
    """Decide (see :mod:`outcomes`) and write the end of one try of ``run`` (None: gone)."""
    if run is None:
        return False
    dag = cache.get(session, run.serialized_dag_id)
    task = dag.tasks.get(key.task_id) if dag else None
    gone, max_tries = _failure_facts(session, cache, key, report)
    end = outcomes.end_of_try(
        report, key.try_number, dag, task, max_tries=max_tries, gone=gone, now=now
    )
    if end.state is TaskState.DEFERRED:
        return _deferred(session, run, key, report, running=running, result=result, now=now)
    finished = finishing.mark_finished(
        session,
        key,
        end.state,
        now=end.ended,
        next_try_at=end.next_try_at,
        running=running,
        reason=end.reason,
        map_name=report.rendered_map_index,
        batch=batch,
    )
    if finished is None:
        return _ended_restarting(session, key, running, result)
    _told(session, result, finished, end, run=run, dag=dag, report=report, running=running)
    result.waits(end.next_try_at)
    _write_results(session, run, key, report, result)
    if end.state is TaskState.SUCCESS and report.asset_events:
        source = asset_store.EventSource(key.dag_id, key.task_id, key.run_id, key.map_index)
        recorded = asset_store.record(session, report.asset_events, source=source, now=now)
        result.asset_events += len(recorded)
    if end.rescheduled and end.next_try_at is not None:
        try_store.add_reschedule(
            session, finished, start=finished.start_date or now, end=now, until=end.next_try_at
        )
    elif end.settled:
        _settle(session, run, key, end, dag=dag, touched=touched, now=now)
    return True


def _told(
    session: Session,
    result: Applied,
    finished: finishing.FinishedTry,
    end: outcomes.TryEnd,
    *,
    run: DagRun,
    dag: SerializedDag | None,
    report: reports.Finished,
    running: Started | None,
) -> None:
    """What the metrics, traces, lineage and alerts are told of a try's end."""
    key = finished.key
    task = dag.tasks.get(key.task_id) if dag else None
    if running is not None:
        result.started.append((key.dag_id, key.task_id))
    _count_end(result, key, end, finished.start_date, task)
    observe.try_ended(
        session,
        key,
        end.state,
        end.ended,
        running,
        error=report.error,
        row=finished,
        run=run,
        reason=end.reason,
    )
    _ended_outside(result, dag, key, end.state, report)
    if report.error:
        log.info("%s: %s (%s)", key, end.state.value, report.error)


def _count_end(
    result: Applied,
    key: TaskKey,
    end: outcomes.TryEnd,
    started: datetime | None,
    task: SerializedTask | None,
) -> None:
    """For the metrics: the try's end, with its seconds of running and its operator."""
    ran = (end.ended - started).total_seconds() if started else None
    operator = task.operator if task is not None else None
    result.ended.append((key.dag_id, key.task_id, end.state.value, ran, operator))


def _ended_outside(
    result: Applied,
    dag: SerializedDag | None,
    key: TaskKey,
    state: TaskState,
    report: reports.Finished,
) -> None:
    """A try that its executor ended (its process could not report): counted, and its alerts,
    which its process could not run, go to a process of their own (see :mod:`callbacks`) with
    why it failed."""
    if report.cause not in _ENDED_OUTSIDE:
        return
    silent = report.cause is reports.Cause.NO_HEARTBEAT
    result.killed.append((key.dag_id, key.task_id, silent))
    if state not in _ALERTED or dag is None:
        return
    why = "the try's process ended without reporting"
    result.task_callbacks.append(
        TaskCallback(
            dag.fileloc,
            key.dag_id,
            key.run_id,
            key.task_id,
            key.map_index,
            key.try_number,
            retry=state is TaskState.UP_FOR_RETRY,
            error=f"{why}: {report.error}" if report.error else why,
        )
    )


def _ended_restarting(
    session: Session, key: TaskKey, running: Started | None, result: Applied
) -> bool:
    """A try that ended too late to be written: the end of a restarting instance's try is
    kept for :mod:`restarts` (True); any other is a late or duplicate report (False)."""
    if not restarts.reported(session, key):
        return False
    result.restarting[key] = running[0] if running else None
    return True


def _deferred(
    session: Session,
    run: DagRun,
    key: TaskKey,
    report: reports.Finished,
    *,
    running: Started | None,
    result: Applied,
    now: datetime,
) -> bool:
    """A try that deferred: it waits on its trigger, holding no slot; what it pushed is kept."""
    deferral = report.deferral
    if deferral is None:  # a runner that says "deferred" without on what: a failed try
        reason = "the try reported that it deferred but named no trigger"
        ended = finishing.mark_finished(
            session, key, TaskState.FAILED, now=now, running=running, reason=reason
        )
        return ended is not None
    if not deferral_store.defer(session, key, deferral, now=now, running=running):
        return _ended_restarting(session, key, running, result)
    log.info("%s: deferred on %s", key, deferral.classpath)
    result.started += [(key.dag_id, key.task_id)] if running is not None else []
    result.ended.append((key.dag_id, key.task_id, TaskState.DEFERRED.value, None, None))
    if deferral.timeout is not None:
        result.waits(now + timedelta(seconds=deferral.timeout))
    _write_results(session, run, key, report, result)
    return True


def _failure_facts(
    session: Session, cache: DagCache, key: TaskKey, report: reports.Finished
) -> tuple[bool, int | None]:
    """What deciding a failure needs from the metastore: whether the task is gone from its
    DAG, else its instance's max_tries (nothing is read for other ends)."""
    if not report.failed:
        return False, None
    if _gone_from_dag(session, cache, key):
        return True, None
    return False, task_store.max_tries(session, key)


def _write_results(
    session: Session, run: DagRun, key: TaskKey, report: reports.Finished, result: Applied
) -> None:
    """What the try rendered (stored with the batch) and pushed."""
    if isinstance(report.rendered_fields, dict):
        result.rendered.append(
            rendered_store.Rendered(
                key.dag_id,
                key.run_id,
                key.task_id,
                key.map_index,
                key.try_number,
                report.rendered_fields,
            )
        )
    if report.xcoms:
        rows = [x.row() for x in report.xcoms]
        xcom_store.set_xcoms(session, run.id, key.task_id, key.map_index, rows)


def _settle(
    session: Session,
    run: DagRun,
    key: TaskKey,
    end: outcomes.TryEnd,
    *,
    dag: SerializedDag | None,
    touched: Touched,
    now: datetime,
) -> None:
    """A try done for good: skip what it skips; its downstream tasks are decided with the
    batch's run."""
    if end.later_runs:
        # The same task in later runs waits on this try, not on the end of this whole run.
        run_store.request_decision_for_later_runs(session, run)
    for task_ids, indexes in _skipped(dag, key, end.skip):
        task_store.set_states(
            session,
            key.dag_id,
            key.run_id,
            dict.fromkeys(task_ids, TaskState.SKIPPED),
            expected=decide.UNDECIDED,
            now=now,
            map_indexes=indexes,
        )
    touched.setdefault((key.dag_id, key.run_id), (run, set()))[1].update(end.candidates)


def _skipped(
    dag: SerializedDag | None, key: TaskKey, skip: Collection[str]
) -> list[tuple[list[str], list[int] | None]]:
    """The tasks a branching try skips, with the instances of each: a try of a mapped task
    group's instance i skips instance i of the group's tasks, and every instance of others."""
    task = dag.tasks.get(key.task_id) if dag is not None else None
    group = task.mapped_group_id if task is not None and key.map_index >= 0 else None
    if dag is None or group is None:
        return [(list(skip), None)] if skip else []
    own = [t for t in skip if t in dag.tasks and dag.tasks[t].mapped_group_id == group]
    others = [t for t in skip if t not in own]
    parts: list[tuple[list[str], list[int] | None]] = []
    if own:
        parts.append((own, [key.map_index]))
    if others:
        parts.append((others, None))
    return parts


def _gone_from_dag(session: Session, cache: DagCache, key: TaskKey) -> bool:
    """Whether the newest version of the DAG no longer has the task (only asked on failure)."""
    latest = cache.latest(session, key.dag_id)
    return latest is not None and key.task_id not in latest[1].tasks
