"""The full pass: the part of a scheduler's pass that looks at the whole metastore rather than
at what the executor reported, so it comes now and then, not every pass (the loop,
:mod:`tradewind.scheduler.loop`, says when). It creates the runs whose schedule is due and
those whose asset condition queued events meet (at once after a try updated an asset), starts
queued runs, settles the runs something asked a decision for (a clear, a mark, a run finished
before them), and moves the tries whose wait is over (a retry, a reschedule) back to
scheduled. It returns what it decided (:class:`FullPass`), with the DAG callbacks due and when
the next full pass is due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.metastore.store import deferrals as deferral_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.scheduler import assetruns, dagruns
from tradewind.scheduler.callbacks import Callback
from tradewind.settings import SchedulerSettings
from tradewind.states import TaskState

# The shortest wait between two full passes that found nothing to do (something overdue but
# blocked, such as a run beyond max_active_runs, must not make the loop spin).
MIN_GAP = 0.05


@dataclass
class FullPass:
    """What one full pass did: how many runs it created, started and settled, how many waiting
    tries it moved back to scheduled, the DAG callbacks due for the runs it finished, and in
    how many seconds the next full pass is due."""

    created: int = 0
    started: int = 0
    decided: int = 0
    woken: int = 0
    callbacks: list[Callback] = field(default_factory=list)
    wait: float = 0.0
    # The runs that finished or started late (for the metrics).
    runs: list[dagruns.Advance] = field(default_factory=list)

    @property
    def did(self) -> bool:
        """Whether it did something (then the next full pass comes at once: more may be due)."""
        return bool(self.created or self.started or self.decided or self.woken)

    def advanced(self, advance: dagruns.Advance) -> None:
        if advance.callback is not None:
            self.callbacks.append(advance.callback)
        if advance.duration is not None or advance.delay is not None:
            self.runs.append(advance)


def run(
    session: Session,
    cache: dagruns.DagCache,
    now: datetime,
    settings: SchedulerSettings,
    *,
    interval: float,
) -> FullPass:
    """One full pass in the caller's transaction. ``interval``: the longest wait until the next
    one when nothing is due sooner."""
    limit = settings.max_dagruns_per_loop
    done = FullPass(created=dagruns.create_scheduled_runs(session, cache, now, limit))
    done.created += _asset_runs(session, cache, now, settings, done)
    for advance in dagruns.start_queued_runs(session, cache, now, limit):
        done.started += 1
        done.advanced(advance)
    for due_run in run_store.runs_needing_decision(session, limit):
        done.decided += 1
        done.advanced(dagruns.advance_run(session, cache, due_run, None, now))
    done.woken = wake_due_tries(session, now, settings.max_tis_per_query)
    done.woken += deferral_store.time_out(session, now, settings.max_tis_per_query)
    # After a pass that did something, another one at once (more may be due); else not before
    # the next due time, and never in a tight loop.
    done.wait = 0.0 if done.did else max(MIN_GAP, seconds_until_due(session, now, interval))
    return done


def asset_runs(
    session: Session, cache: dagruns.DagCache, now: datetime, settings: SchedulerSettings
) -> FullPass:
    """The part of a full pass that asset events recorded in this pass call for at once: the
    runs of the consumers whose condition they meet, created and started."""
    done = FullPass()
    done.created = _asset_runs(session, cache, now, settings, done)
    return done


def _asset_runs(
    session: Session,
    cache: dagruns.DagCache,
    now: datetime,
    settings: SchedulerSettings,
    done: FullPass,
) -> int:
    """Create the asset-triggered runs that are due and start them (up to
    ``max_asset_runs_per_loop``: every consumer of an update starts in this pass); how many
    were created."""
    limit = settings.max_asset_runs_per_loop
    created = assetruns.create_asset_triggered_runs(session, cache, now, limit)
    if created:
        for advance in dagruns.start_queued_runs(session, cache, now, max(created, 1)):
            done.started += 1
            done.advanced(advance)
    return created


def wake_due_tries(session: Session, now: datetime, limit: int) -> int:
    """up_for_retry and up_for_reschedule tries whose wait is over go back to scheduled;
    returns how many were due."""
    due = task_store.due_waiting(session, now, limit)
    for ti in due:
        if ti.state is TaskState.UP_FOR_RETRY:
            # A new try starts clean: what the failed one pushed is gone.
            retried = run_store.get_run(session, ti.dag_id, ti.run_id)
            if retried is not None:
                xcom_store.delete_xcoms(session, retried.id, ti.task_id, ti.map_index)
        task_store.set_states(
            session,
            ti.dag_id,
            ti.run_id,
            {ti.task_id: TaskState.SCHEDULED},
            expected={TaskState.UP_FOR_RETRY, TaskState.UP_FOR_RESCHEDULE},
            now=now,
            map_indexes=[ti.map_index],
        )
    return len(due)


def seconds_until_due(session: Session, now: datetime, interval: float) -> float:
    """Until the next full pass: ``interval``, or sooner if a run or a try is due."""
    times = [
        run_store.next_due_time(session),
        task_store.next_waiting_time(session),
        deferral_store.next_timeout(session),
    ]
    soonest = min((t for t in times if t is not None), default=None)
    if soonest is None:
        return interval
    return max(0.0, min(interval, (soonest - now).total_seconds()))
