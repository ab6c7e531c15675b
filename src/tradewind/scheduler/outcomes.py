"""What happens when a try ends, decided without I/O: a finished report in, a :class:`TryEnd` out.

This is the one place that says what a try's end means for its task instance:

- success, skipped: settled; its downstream tasks (and those of the tasks it skips) are
  decided again at once, and with depends_on_past the same task in later runs too;
- failed: up for retry at ``now + retry_delay`` while tries remain and the failure may be
  retried, else failed for good (settled); removed when the newest DAG no longer has the task;
- up_for_reschedule: waits until the sensor's ``reschedule_date``.

:mod:`tradewind.scheduler.events` reads the facts this needs from the metastore and writes the
decision; a report for a task instance cleared while the try ran (restarting) goes to
:mod:`tradewind.scheduler.restarts` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradewind.parsing.serialize import SerializedDag, SerializedTask
from tradewind.reports import Finished
from tradewind.scheduler import decide
from tradewind.states import TaskState


@dataclass(frozen=True)
class TryEnd:
    """What to write for a try that ended.

    ``ended`` is the try's own clock for its end (bounded by ours), so durations are what the
    task took; ``reason`` is why it failed, kept for the API and the UI. ``rescheduled``: a
    reschedule row is added. ``settled``: it is done for good and ``candidates`` (downstream
    tasks) are decided again, after ``skip`` (downstream tasks it skips) are skipped;
    ``later_runs``: the same task in later runs waits on it (depends_on_past).
    """

    state: TaskState
    ended: datetime
    next_try_at: datetime | None = None
    reason: str | None = None
    rescheduled: bool = False
    settled: bool = False
    later_runs: bool = False
    skip: tuple[str, ...] = ()
    candidates: frozenset[str] = frozenset()


def end_of_try(
    report: Finished,
    try_number: int,
    dag: SerializedDag | None,
    task: SerializedTask | None,
    *,
    max_tries: int | None,
    gone: bool,
    now: datetime,
) -> TryEnd:
    """The decision for a finished report.

    ``max_tries`` is the task instance's (None when it was not found); ``gone`` tells whether
    the newest version of the DAG no longer has the task (only asked for a failure).
    """
    state, next_try_at = _next_state(
        report, try_number, task, max_tries=max_tries, gone=gone, now=now
    )
    if state is TaskState.UP_FOR_RESCHEDULE and next_try_at is None:
        next_try_at = now
    end = TryEnd(
        state,
        ended=min(report.at, now),
        next_try_at=next_try_at,
        reason=(report.error or None) if report.failed else None,
        rescheduled=state is TaskState.UP_FOR_RESCHEDULE,
    )
    if state not in decide.SETTLED or dag is None or task is None:
        return end
    skip = tuple(t for t in report.skip if t in dag.tasks)
    candidates = set(task.downstream_task_ids)
    for skipped in skip:
        candidates.update(dag.tasks[skipped].downstream_task_ids)
    return TryEnd(
        end.state,
        end.ended,
        end.next_try_at,
        end.reason,
        settled=True,
        later_runs=task.depends_on_past,
        skip=skip,
        candidates=frozenset(candidates),
    )


def _next_state(
    report: Finished,
    try_number: int,
    task: SerializedTask | None,
    *,
    max_tries: int | None,
    gone: bool,
    now: datetime,
) -> tuple[TaskState, datetime | None]:
    if report.state is TaskState.UP_FOR_RESCHEDULE:
        return report.state, report.reschedule_date
    if report.state is not TaskState.FAILED:
        return report.state, None
    if gone:
        # Deleted from the DAG file since the run started: its code cannot run any more.
        return TaskState.REMOVED, None
    if max_tries is None or task is None:
        return TaskState.FAILED, None
    return decide.after_failure(task, try_number, max_tries, retryable=report.retryable, now=now)
