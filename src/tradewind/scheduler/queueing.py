"""Pick the scheduled tries to queue now: priority across the whole queue, pools, limits
(max_active_tasks per DAG, max_active_tis_per_dag and max_active_tis_per_dagrun per task)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun
from tradewind.metastore.store import deferrals as deferral_store
from tradewind.metastore.store import room as room_store
from tradewind.metastore.store import rundata
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tries as try_store
from tradewind.parsing.serialized import SerializedDag, SerializedTask
from tradewind.reports import Deferral
from tradewind.scheduler import mapping
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
    starving: list[int] | None = None,
    left: list[int] | None = None,
    known_runs: Mapping[tuple[str, str], DagRun] | None = None,
) -> list[Workload]:
    """Move up to ``room`` scheduled tries to queued and return their workloads.

    Candidates come highest priority_weight first (then oldest), over all DAGs at once. A try
    is skipped for now when its pool has no free slots, its DAG is at max_active_tasks or its
    task at max_active_tis_per_dag or max_active_tis_per_dagrun; lower-priority tries that
    fit may go ahead. ``external_id`` (an executor's that can adopt tries) names each try for
    the executor. ``run`` (dag id, run id) limits it to that run (``dags test``); runs read
    already: ``known_runs``. Appended to ``starving``: tries that waited for pool slots; to
    ``left``: scheduled tries read and not queued, plus one if it read its limit."""
    limit = max(room, fetch)
    candidates = try_store.scheduled_instances(session, limit, run=run)
    if not candidates:
        return []
    pools = room_store.pool_room(session, lock=True)
    active = room_store.active_counts_by_dag(session, sorted({c.dag_id for c in candidates}))
    runs = _RunData(session, candidates, room, known_runs or {})
    inputs = mapping.MapInputs(session)
    tasks = {ti.id: _task(session, cache, ti) for ti in candidates}
    limits = _TaskLimits.read(session, candidates, tasks)
    chosen: list[tuple[int, Workload]] = []
    hungry = 0
    for ti in candidates:
        if len(chosen) >= room:
            break
        free = pools.get(ti.pool)
        if free is None:
            log.warning("%s.%s waits: pool %r does not exist", ti.dag_id, ti.task_id, ti.pool)
            continue
        task = tasks[ti.id]
        if free < ti.pool_slots or active.get(ti.dag_id, 0) >= ti.max_active_tasks:
            hungry += free < ti.pool_slots
            continue
        if task is None or not limits.allow(ti, task) or _begins_deferred(session, ti, task, now):
            continue
        workload = _workload(session, ti, task, runs, inputs)
        if workload is None:
            continue
        pools[ti.pool] = free - ti.pool_slots
        active[ti.dag_id] = active.get(ti.dag_id, 0) + 1
        limits.take(ti)
        chosen.append((ti.id, workload))
    if starving is not None:
        starving.append(hungry)
    if left is not None:
        left.append(len(candidates) - len(chosen) + (len(candidates) >= limit))
    return _mark_queued(session, chosen, job_id=job_id, now=now, external_id=external_id)


def _mark_queued(
    session: Session,
    chosen: list[tuple[int, Workload]],
    *,
    job_id: int | None,
    now: datetime,
    external_id: Callable[[TaskKey], str | None] | None,
) -> list[Workload]:
    """Queue the chosen tries; the workloads of those this scheduler queued."""
    # Those another scheduler queued first are not ours to run.
    queued = try_store.mark_queued_many(
        session, [ti_id for ti_id, _ in chosen], job_id=job_id, now=now
    )
    mine = [(ti_id, workload) for ti_id, workload in chosen if ti_id in queued]
    if external_id is not None:
        named = [(ti_id, external_id(workload.key)) for ti_id, workload in mine]
        try_store.set_external_ids(session, [(i, name) for i, name in named if name])
    return [workload for _, workload in mine]


def _begins_deferred(
    session: Session,
    ti: try_store.Queueable,
    found: tuple[SerializedDag, SerializedTask],
    now: datetime,
) -> bool:
    """A try of a task with ``start_from_trigger`` begins deferred, without a process."""
    task = found[1]
    if task.start_trigger is None or ti.next_method is not None:
        return False
    deferral = Deferral.from_json(task.start_trigger)
    if deferral_store.start_deferred(session, ti.id, deferral, now=now):
        log.info("%s: begins in the triggerer on %s", ti.key, deferral.classpath)
    return True


def _task(
    session: Session, cache: DagCache, ti: try_store.Queueable
) -> tuple[SerializedDag, SerializedTask] | None:
    """The try's DAG (its run's version, from the cache) and task."""
    dag = cache.get(session, ti.serialized_dag_id)
    if dag is None or ti.task_id not in dag.tasks:
        return None
    return dag, dag.tasks[ti.task_id]


class _RunData:
    """Each run's data for the workloads of a pass (Workload.run), read on first need for
    that run and the next runs among the candidates, up to ``batch`` runs at a time."""

    def __init__(
        self,
        session: Session,
        candidates: Sequence[try_store.Queueable],
        batch: int,
        known: Mapping[tuple[str, str], DagRun],
    ) -> None:
        self.session = session
        self.known = known
        self.order = list(dict.fromkeys((c.dag_id, c.run_id) for c in candidates))
        self.place = {key: n for n, key in enumerate(self.order)}
        self.batch = max(1, batch)
        self.found: dict[tuple[str, str], dict[str, Any] | None] = {}

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        if key not in self.found:
            self._read(key)
        return self.found[key]

    def _read(self, key: tuple[str, str]) -> None:
        start = self.place.get(key, len(self.order))
        upcoming = [k for k in self.order[start + 1 :] if k not in self.found]
        wanted = [key, *upcoming[: self.batch - 1]]
        runs = {k: self.known[k] for k in wanted if k in self.known}
        runs.update(rundata.runs_by_key(self.session, [k for k in wanted if k not in runs]))
        previous = rundata.previous_successes(self.session, list(runs.values()))
        for wanted_key in wanted:
            run = runs.get(wanted_key)
            self.found[wanted_key] = None if run is None else _run_data(run, previous[wanted_key])


def _workload(
    session: Session,
    ti: try_store.Queueable,
    found: tuple[SerializedDag, SerializedTask],
    runs: _RunData,
    inputs: mapping.MapInputs,
) -> Workload | None:
    """The workload of a try; ``runs`` holds its run's data, ``inputs`` what mapped tasks
    of its runs expand over."""
    run_data = runs.get((ti.dag_id, ti.run_id))
    if run_data is None:
        return None
    dag, task = found
    return Workload(
        key=ti.key,
        dag_file=dag.fileloc,
        priority_weight=ti.priority_weight,
        queue=ti.queue,
        execution_timeout=task.execution_timeout,
        executor_config=task.executor_config,
        run=run_data,
        xcoms=inputs.handed(dag, task, ti.run_id) if task.mapping is not None else None,
        next_method=ti.next_method,
        next_kwargs=ti.next_kwargs,
        resumptions=ti.deferrals,
    )


@dataclass
class _TaskLimits:
    """Tries occupying a slot per (dag_id, task_id, run_id), for the tasks with a limit of
    their own (``max_active_tis_per_dag``, ``max_active_tis_per_dagrun``), counted up as
    this pass queues more."""

    by_run: dict[tuple[str, str, str], int]

    @classmethod
    def read(
        cls,
        session: Session,
        candidates: Sequence[try_store.Queueable],
        tasks: Mapping[int, tuple[SerializedDag, SerializedTask] | None],
    ) -> _TaskLimits:
        limited = set()
        for ti in candidates:
            found = tasks[ti.id]
            if found is not None and _has_limit(found[1]):
                limited.add((ti.dag_id, ti.task_id))
        return cls(room_store.active_counts_by_task_and_run(session, limited))

    def allow(self, ti: try_store.Queueable, found: tuple[SerializedDag, SerializedTask]) -> bool:
        task = found[1]
        if not _has_limit(task):
            return True
        per_dag, per_run = task.max_active_tis_per_dag, task.max_active_tis_per_dagrun
        if per_run is not None and self.by_run.get(_run_key(ti), 0) >= per_run:
            return False
        if per_dag is None:
            return True
        counts = self.by_run.items()
        total = sum(n for (d, t, _), n in counts if (d, t) == (ti.dag_id, ti.task_id))
        return total < per_dag

    def take(self, ti: try_store.Queueable) -> None:
        self.by_run[_run_key(ti)] = self.by_run.get(_run_key(ti), 0) + 1


def _has_limit(task: SerializedTask) -> bool:
    return task.max_active_tis_per_dag is not None or task.max_active_tis_per_dagrun is not None


def _run_key(ti: try_store.Queueable) -> tuple[str, str, str]:
    return (ti.dag_id, ti.task_id, ti.run_id)


def _run_data(run: DagRun, previous: DagRun | None) -> dict[str, Any]:
    """What the try needs of its run, so that it does not have to read it (Workload.run);
    ``previous``: its DAG's latest successful run before it."""
    logical = run.logical_date
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
