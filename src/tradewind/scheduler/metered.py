"""What a committed pass tells the metrics (see :mod:`tradewind.telemetry`): the pass's time,
the tries it queued or could not queue, the tries that started and ended, the runs that
finished or started. Called once per pass, after the commit, so that only what was written is
counted; with metrics off it returns at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from tradewind.executors.base import BaseExecutor
from tradewind.metastore.store import pools as pool_store
from tradewind.scheduler.dagruns import Advance
from tradewind.scheduler.events import Applied
from tradewind.telemetry import Metrics


def emit_pass(
    metrics: Metrics,
    seconds: float,
    *,
    queued: int,
    starving: int,
    applied: Applied | None,
    runs: Sequence[Advance],
) -> None:
    if not metrics.on:
        return
    with metrics.batch():
        metrics.scheduler_loop(seconds, executable=queued, starving=starving)
        if applied is not None:
            for dag_id, task_id in applied.started:
                metrics.ti_started(dag_id, task_id)
            for dag_id, task_id, state, ran, operator in applied.ended:
                metrics.ti_finished(dag_id, task_id, state, ran, operator)
            for dag_id, task_id, silent in applied.killed:
                metrics.ti_killed_externally(dag_id, task_id, no_heartbeat=silent)
        for advance in runs:
            if advance.duration is not None and advance.outcome is not None:
                metrics.dagrun_finished(advance.dag_id, advance.outcome.value, advance.duration)
            if advance.delay is not None:
                metrics.dagrun_started(advance.dag_id, advance.delay)


def emit_beat(metrics: Metrics, executor: BaseExecutor, session: Session) -> None:
    """At each heartbeat: the heartbeat, the executor's slots and every pool's (one read)."""
    if not metrics.on:
        return
    usage = pool_store.usage(session)
    pools = pool_store.list_pools(session)
    with metrics.batch():
        metrics.scheduler_heartbeat()
        queued, running = executor.task_counts()
        name = type(executor).__name__
        metrics.executor_slots(name, open_slots=executor.free_slots, queued=queued, running=running)
        for pool in pools:
            used = usage.get(pool.pool, {})
            taken = {use: used.get(use, 0) for use in ("running", "queued", "deferred")}
            free = max(0, pool.slots - taken["running"] - taken["queued"])
            metrics.pool_slots(pool.pool, open=free, **taken)
