"""Tries of schedulers that are gone, found at the scheduler's sweep: followed from now on when
its executor can adopt them (they live in a broker or on a worker), else back to scheduled; and
restarting tries whose process no live scheduler holds, which run again."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.executors.base import BaseExecutor
from tradewind.metastore.models import TaskInstance
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import orphans as orphan_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tries as try_store
from tradewind.scheduler import observe
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)


def sweep(
    session: Session, executor: BaseExecutor, *, job_id: int | None, timeout: float, now: datetime
) -> tuple[int, int]:
    """Adopt or reset the queued and running tries of schedulers whose job is older than
    ``timeout``; this scheduler (``job_id``) counts as alive, however stale its heartbeat.
    Returns how many it reset (cleared) and adopted."""
    alive = [
        job.id
        for job in job_store.alive_jobs(session, job_store.SCHEDULER, now=now, timeout=timeout)
    ]
    if job_id is not None and job_id not in alive:
        alive.append(job_id)
    orphans = orphan_store.active_of_jobs(session, alive_job_ids=alive)
    adopted = _adopt(session, executor, orphans, job_id, now) if orphans else set()
    cleared = 0
    for ti in orphans:
        if ti.id in adopted:
            continue
        if orphan_store.reset_orphan(session, ti, now=now):
            cleared += 1
            if ti.state == TaskState.RUNNING.value:
                error = orphan_store.ORPHANED
                observe.try_failed(session, ti.key, now, start=ti.start_date, error=error)
            log.warning(
                "reset %s.%s (%s, try %d): its scheduler is gone",
                ti.dag_id,
                ti.task_id,
                ti.run_id,
                ti.try_number,
            )
    _end_unheld_restarts(session, executor, alive, job_id, now)
    return cleared, len(adopted)


def _adopt(
    session: Session,
    executor: BaseExecutor,
    orphans: list[TaskInstance],
    job_id: int | None,
    now: datetime,
) -> set[int]:
    """The ids of the orphans this scheduler's executor follows from now on."""
    if not executor.supports_adoption or job_id is None:
        return set()
    candidates = {
        ti.key: ti
        for ti in orphans
        if ti.external_executor_id and ti.state in (TaskState.QUEUED.value, TaskState.RUNNING.value)
    }
    if not candidates:
        return set()
    taken: set[int] = set()
    for key in executor.adopt(list(candidates)):
        ti = candidates[key]
        if orphan_store.adopt(session, ti, job_id=job_id, now=now):
            taken.add(ti.id)
            log.info("adopted %s (%s) from a scheduler that is gone", key, ti.state)
    return taken


def _end_unheld_restarts(
    session: Session, executor: BaseExecutor, alive: list[int], job_id: int | None, now: datetime
) -> None:
    """Restarting tries whose process no executor of a live scheduler holds (it is gone,
    or its scheduler is): their task instances go to none, to run again."""
    held: set[TaskKey] | None = None
    for row in try_store.restarting_tries(session):
        owner = row["queued_by_job_id"]
        if owner in alive and owner != job_id:
            continue  # another live scheduler stops it and hears of its end
        key = TaskKey(
            row["dag_id"], row["run_id"], row["task_id"], row["map_index"], row["try_number"]
        )
        if owner == job_id:
            held = executor.active_keys() if held is None else held
            if key in held:
                continue
        if try_store.end_restart_row(session, row, now=now) is None:
            continue
        observe.try_failed(
            session, key, now, start=row["start_date"], error=try_store.RESTARTED_REASON
        )
        log.warning("%s: no process of it is left; its task instance runs again", key)
        run = run_store.get_run(session, key.dag_id, key.run_id)
        if run is not None:
            run_store.request_decision(session, [run.id])
