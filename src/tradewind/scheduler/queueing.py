"""Pick the scheduled tries to queue now: priority across the whole queue, pools, limits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tries as try_store
from tradewind.scheduler.dagruns import DagCache
from tradewind.workloads import TaskKey, Workload

log = logging.getLogger(__name__)


def queue_ready(
    session: Session,
    cache: DagCache,
    *,
    room: int,
    job_id: int | None,
    now: datetime,
    fetch: int,
    external_id: Callable[[TaskKey], str | None] | None = None,
    run: tuple[str, str] | None = None,
) -> list[Workload]:
    """Move up to ``room`` scheduled tries to queued and return their workloads.

    Candidates come highest priority_weight first (then oldest), over all DAGs at once, so
    priority holds across the whole queue. A try is skipped for now when its pool has no free
    slots or its DAG is at max_active_tasks; lower-priority tries that fit may go ahead.
    ``external_id`` (an executor's that can adopt tries) names each try for the executor; the
    name is kept with the task instance. ``run`` (dag id, run id) limits it to that run, whose
    DAG may be paused (``dags test``).
    """
    candidates = try_store.scheduled_instances(session, max(room, fetch), run=run)
    if not candidates:
        return []
    pools = try_store.pool_room(session, lock=True)
    dag_ids = sorted({c.dag_id for c in candidates})
    active = try_store.active_counts_by_dag(session, dag_ids)
    chosen: list[tuple[int, Workload]] = []
    runs: dict[tuple[str, str], tuple[int | None, dict[str, Any] | None]] = {}
    for ti in candidates:
        if len(chosen) >= room:
            break
        free = pools.get(ti.pool)
        if free is None:
            log.warning("%s.%s waits: pool %r does not exist", ti.dag_id, ti.task_id, ti.pool)
            continue
        if free < ti.pool_slots or active.get(ti.dag_id, 0) >= ti.max_active_tasks:
            continue
        workload = _workload(session, cache, ti, runs)
        if workload is None:
            continue
        pools[ti.pool] = free - ti.pool_slots
        active[ti.dag_id] = active.get(ti.dag_id, 0) + 1
        chosen.append((ti.id, workload))
    # Those another scheduler queued first are not ours to run.
    queued = try_store.mark_queued_many(
        session, [ti_id for ti_id, _ in chosen], job_id=job_id, now=now
    )
    mine = [(ti_id, workload) for ti_id, workload in chosen if ti_id in queued]
    if external_id is not None:
        named = [(ti_id, external_id(workload.key)) for ti_id, workload in mine]
        try_store.set_external_ids(session, [(i, name) for i, name in named if name])
    return [workload for _, workload in mine]


def _workload(
    session: Session,
    cache: DagCache,
    ti: try_store.Queueable,
    runs: dict[tuple[str, str], tuple[int | None, dict[str, Any] | None]],
) -> Workload | None:
    """The workload of a try; ``runs`` memoises each run's DAG version and data for this pass."""
    if (ti.dag_id, ti.run_id) not in runs:
        run = run_store.get_run(session, ti.dag_id, ti.run_id)
        runs[(ti.dag_id, ti.run_id)] = (
            (run.serialized_dag_id, _run_data(session, run)) if run else (None, None)
        )
    version, run_data = runs[(ti.dag_id, ti.run_id)]
    dag = cache.get(session, version)
    if dag is None or ti.task_id not in dag.tasks:
        return None
    task = dag.tasks[ti.task_id]
    return Workload(
        key=ti.key,
        dag_file=dag.fileloc,
        priority_weight=ti.priority_weight,
        queue=ti.queue,
        execution_timeout=task.execution_timeout,
        executor_config=task.executor_config,
        run=run_data,
    )


def _run_data(session: Session, run: DagRun) -> dict[str, Any]:
    """What the try needs of its run, so that it does not have to read it (Workload.run)."""
    logical = run.logical_date
    previous = run_store.previous_success(session, run.dag_id, logical)
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "logical_date": logical.isoformat(),
        "data_interval_start": (run.data_interval_start or logical).isoformat(),
        "data_interval_end": (run.data_interval_end or logical).isoformat(),
        "run_type": run.run_type,
        "conf": dict(run.conf or {}),
        "start_date": run.start_date.isoformat() if run.start_date else None,
        "external_trigger": run.external_trigger,
        "id": run.id,
        "previous_success": run_store.previous_success_data(previous),
    }
