"""Apply what the executor reports: each event is a guarded state change, then the
downstream tasks of a finished one are settled at once (event-driven readiness)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.executors.base import EventKind, TaskEvent
from tradewind.metastore.models import DagRun, TaskInstance
from tradewind.metastore.store import rendered as rendered_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import tries as try_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.scheduler import decide
from tradewind.scheduler.dagruns import DagCache, advance_run
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)


def key_of(ti: TaskInstance) -> TaskKey:
    return TaskKey(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)


def _key_tuple(key: TaskKey) -> tuple[str, str, str, int, int]:
    return (key.dag_id, key.run_id, key.task_id, key.map_index, key.try_number)


@dataclass
class Applied:
    """What applying a batch of events did."""

    changed: int = 0
    # A run finished: queued runs of its DAG may start, later runs may be decided.
    finished_runs: int = 0
    # What the finished tries rendered, stored once for the whole batch.
    rendered: list[rendered_store.Rendered] = field(default_factory=list)
    # The earliest moment a try of this batch waits for (a retry or a reschedule).
    wait_until: datetime | None = None
    # The tries that reported their end in this batch (their process may still run their
    # callbacks: it is not to be stopped as abandoned).
    reported: set[TaskKey] = field(default_factory=set)
    # Tries of restarting task instances that reported their end (with their start if known).
    restarting: dict[TaskKey, datetime | None] = field(default_factory=dict)

    def waits(self, moment: datetime | None) -> None:
        if moment is not None and (self.wait_until is None or moment < self.wait_until):
            self.wait_until = moment


def apply(session: Session, cache: DagCache, events: Sequence[TaskEvent], now: datetime) -> Applied:
    """Apply events in order.

    Each run whose tasks finished is then settled once for the whole batch, not once per
    event: under load, batches grow and the cost per task falls.
    """
    result = Applied()
    touched: dict[tuple[str, str], tuple[DagRun, set[str]]] = {}
    # A try that reported running and finished in the same batch is written once.
    finishing = {e.key for e in events if e.kind is EventKind.FINISHED}
    result.reported = finishing
    started = {
        e.key: (min(e.at, now), e.pid, e.hostname)
        for e in events
        if e.kind is EventKind.RUNNING and e.key in finishing
    }
    # Runs are locked as their first finished try comes up: in one order for every
    # scheduler, so that two of them never wait on each other's locks.
    for event in sorted(events, key=lambda e: (e.key.dag_id, e.key.run_id)):
        if event.kind is EventKind.RUNNING and event.key in started:
            continue
        if event.kind is EventKind.RUNNING:
            result.changed += try_store.mark_running(
                session,
                _key_tuple(event.key),
                pid=event.pid,
                hostname=event.hostname,
                now=min(event.at, now),
            )
        elif event.kind is EventKind.FINISHED:
            result.changed += _finished(
                session, cache, event, now, touched, result=result, running=started.get(event.key)
            )
    # One statement for the batch; none when no try rendered anything (no template fields).
    rendered_store.set_rendered(session, result.rendered)
    for run, candidates in touched.values():
        if advance_run(session, cache, run, candidates, now).outcome is not None:
            result.finished_runs += 1
    return result


def _finished(
    session: Session,
    cache: DagCache,
    event: TaskEvent,
    now: datetime,
    touched: dict[tuple[str, str], tuple[DagRun, set[str]]],
    *,
    result: Applied,
    running: tuple[datetime, int | None, str | None] | None,
) -> bool:
    key = event.key
    if (key.dag_id, key.run_id) in touched:
        run = touched[(key.dag_id, key.run_id)][0]
    else:
        found = run_store.lock_run(session, key.dag_id, key.run_id)
        if found is None:
            return False
        run = found
    dag = cache.get(session, run.serialized_dag_id)
    task = dag.tasks.get(key.task_id) if dag else None
    payload: dict[str, Any] = dict(event.payload)
    state = event.state or TaskState.FAILED
    next_try_at = None
    if state is TaskState.FAILED and _gone_from_dag(session, cache, key):
        # Deleted from the DAG file since the run started: its code cannot run any more.
        state = TaskState.REMOVED
    elif state is TaskState.FAILED:
        ti = task_store.get_instance(session, key.dag_id, key.run_id, key.task_id, key.map_index)
        if ti is not None and task is not None:
            state, next_try_at = decide.after_failure(
                task,
                key.try_number,
                ti.max_tries,
                retryable=bool(payload.get("retryable", True)),
                now=now,
            )
    elif state is TaskState.UP_FOR_RESCHEDULE:
        raw = payload.get("reschedule_date")
        next_try_at = datetime.fromisoformat(raw) if isinstance(raw, str) else now
    # The try's own clock for its end (bounded by ours), so durations are what the task took.
    ended = min(event.at, now)
    # Why it failed (its error, or why its executor ended it), kept for the API and the UI.
    failed = (event.state or TaskState.FAILED) is TaskState.FAILED
    reason = (event.info or None) if failed else None
    finished = try_store.mark_finished(
        session,
        _key_tuple(key),
        state,
        now=ended,
        next_try_at=next_try_at,
        running=running,
        reason=reason,
    )
    if finished is None:
        return _restarting(session, key, result, running)
    if event.info:
        log.info("%s: %s (%s)", key, state.value, event.info)
    result.waits(next_try_at)
    fields = payload.get("rendered_fields")
    if isinstance(fields, dict):
        result.rendered.append(
            rendered_store.Rendered(
                key.dag_id, key.run_id, key.task_id, key.map_index, key.try_number, fields
            )
        )
    xcoms = payload.get("xcoms") or []
    if xcoms:
        xcom_store.set_xcoms(session, run.id, key.task_id, key.map_index, [tuple(x) for x in xcoms])
    if state is TaskState.UP_FOR_RESCHEDULE and next_try_at is not None:
        try_store.add_reschedule(
            session, finished, start=finished.start_date or now, end=now, until=next_try_at
        )
        return True
    if state not in decide.SETTLED or dag is None or task is None:
        return True
    if task.depends_on_past:
        # The same task in later runs waits on this try, not on the end of this whole run.
        run_store.request_decision_for_later_runs(session, run)
    skip = [t for t in payload.get("skip") or [] if t in dag.tasks]
    if skip:
        task_store.set_states(
            session,
            key.dag_id,
            key.run_id,
            dict.fromkeys(skip, TaskState.SKIPPED),
            expected=decide.UNDECIDED,
            now=now,
        )
    candidates = touched.setdefault((key.dag_id, key.run_id), (run, set()))[1]
    candidates.update(task.downstream_task_ids)
    for skipped in skip:
        candidates.update(dag.tasks[skipped].downstream_task_ids)
    return True


def _restarting(
    session: Session,
    key: TaskKey,
    result: Applied,
    running: tuple[datetime, int | None, str | None] | None,
) -> bool:
    """The report of a try whose task instance was cleared while it ran (restarting). Its
    process may still be running (callbacks, the end of a SIGTERM): the loop ends the restart
    once the executor no longer holds it (see ``Scheduler._end_restarts``). Any other report
    that comes too late, or twice, is dropped."""
    if not try_store.is_restarting(session, _key_tuple(key)):
        log.info("dropped a late or duplicate report for %s", key)
        return False
    result.restarting[key] = running[0] if running else None
    return True


def _gone_from_dag(session: Session, cache: DagCache, key: TaskKey) -> bool:
    """Whether the newest version of the DAG no longer has the task (only asked on failure)."""
    latest = cache.latest(session, key.dag_id)
    return latest is not None and key.task_id not in latest[1].tasks
