"""What telemetry needs of the tries a pass saw start or end (see
:mod:`tradewind.scheduler.observe`): one query for all of them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, TaskInstance


@dataclass(frozen=True)
class TryFacts:
    queued: datetime | None
    start: datetime | None
    hostname: str | None
    pid: int | None
    pool: str
    queue: str
    priority_weight: int
    failure_reason: str | None
    logical_date: datetime
    serialized_dag_id: int | None


Key = tuple[str, str, str, int]  # dag_id, run_id, task_id, map_index


def try_facts(session: Session, keys: Collection[Key]) -> dict[Key, TryFacts]:
    """The facts of these task instances, by key (one query for all)."""
    if not keys:
        return {}
    ti, run = TaskInstance, DagRun
    rows = session.execute(
        select(
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            ti.map_index,
            ti.queued_dttm,
            ti.start_date,
            ti.hostname,
            ti.pid,
            ti.pool,
            ti.queue,
            ti.priority_weight,
            ti.failure_reason,
            run.logical_date,
            run.serialized_dag_id,
        )
        .join(run, and_(run.dag_id == ti.dag_id, run.run_id == ti.run_id))
        .where(
            ti.dag_id.in_(sorted({k[0] for k in keys})),
            ti.run_id.in_(sorted({k[1] for k in keys})),
            ti.task_id.in_(sorted({k[2] for k in keys})),
        )
    ).all()
    wanted = set(keys)
    found: dict[Key, TryFacts] = {}
    for row in rows:
        key = (row[0], row[1], row[2], row[3])
        if key in wanted:
            values: tuple[Any, ...] = tuple(row[4:])
            found[key] = TryFacts(*values)
    return found


RunKey = tuple[str, str]  # dag_id, run_id


@dataclass(frozen=True)
class RunFacts:
    logical_date: datetime
    serialized_dag_id: int | None


def run_facts(session: Session, keys: Collection[RunKey]) -> dict[RunKey, RunFacts]:
    """What a try's start needs of its run (one query for all the runs)."""
    if not keys:
        return {}
    run = DagRun
    rows = session.execute(
        select(run.dag_id, run.run_id, run.logical_date, run.serialized_dag_id).where(
            run.dag_id.in_(sorted({k[0] for k in keys})),
            run.run_id.in_(sorted({k[1] for k in keys})),
        )
    ).all()
    wanted = set(keys)
    return {
        (row[0], row[1]): RunFacts(row[2], row[3]) for row in rows if (row[0], row[1]) in wanted
    }
