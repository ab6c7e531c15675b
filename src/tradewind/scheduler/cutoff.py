"""A pass whose COMMIT was cut off by a lost metastore: did it go through or not?

A pass marks tries queued and hands them to the executor once its transaction has committed.
When the connection is lost during COMMIT, the outcome is unknown: had the commit gone
through, those tries would stay queued in the metastore, held by no executor; had it not, they
are still scheduled and the next pass queues them again. So the scheduler keeps such a pass
(:class:`CutOff`), and before its next pass, once the metastore answers again,
:meth:`CutOff.settle` reads which of its tries the metastore holds as queued by this scheduler
(those are handed over now, once) and which of the runs it finished are finished (their DAG
callbacks start now). The rest of the pass is simply done again: the executor's events it
applied are kept and applied again, and every change is a guarded update, so one that did
commit is dropped the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tradewind.metastore.store import cutoff as cutoff_store
from tradewind.metastore.store import tries as try_store
from tradewind.scheduler.callbacks import Callback, TaskCallback
from tradewind.states import TaskState
from tradewind.workloads import Workload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutOff:
    """What a cut-off pass would have handed over: workloads, DAG callbacks to start, and
    the alerts of tries that failed outside their process."""

    workloads: list[Workload]
    callbacks: list[Callback]
    task_callbacks: list[TaskCallback] = field(default_factory=list)

    def settle_alerts(self, session: Session) -> list[TaskCallback]:
        """The alerts of the tries whose failure the commit did record: their task instance
        is failed or up for retry with that try, or has gone on to a later one (had it not
        gone through, the events are applied again, and file them again)."""
        found = try_store.try_states(session, [alert.key for alert in self.task_callbacks])
        recorded = [
            alert
            for alert in self.task_callbacks
            if alert.key in found and _recorded(alert.key.try_number, *found[alert.key])
        ]
        log.info(
            "%d of %d alerts of tries that failed outside their process started",
            len(recorded),
            len(self.task_callbacks),
        )
        return recorded

    def settle(self, session: Session, job_id: int | None) -> tuple[list[Workload], list[Callback]]:
        """The workloads and callbacks of the pass whose commit did go through."""
        queued = cutoff_store.queued_by(session, job_id, [w.key for w in self.workloads])
        runs = cutoff_store.run_states(session, [(c.dag_id, c.run_id) for c in self.callbacks])
        workloads = [w for w in self.workloads if w.key in queued]
        callbacks = [c for c in self.callbacks if runs.get((c.dag_id, c.run_id)) == c.outcome.value]
        committed = "went through" if workloads or callbacks else "did not go through"
        log.info(
            "the commit cut off by the metastore's outage %s: %d of %d queued tries handed "
            "over now, %d of %d DAG callbacks started",
            committed,
            len(workloads),
            len(self.workloads),
            len(callbacks),
            len(self.callbacks),
        )
        return workloads, callbacks


def _recorded(try_number: int, current: int, state: TaskState) -> bool:
    """Whether a task instance now at try ``current`` in ``state`` had the failure of try
    ``try_number`` recorded."""
    return current > try_number or (
        current == try_number and state in (TaskState.FAILED, TaskState.UP_FOR_RETRY)
    )
