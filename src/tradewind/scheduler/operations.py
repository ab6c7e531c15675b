"""What people do to runs by hand: clear tasks (with scopes) so the scheduler runs them again."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.exceptions import TradewindError
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.serialize import deserialize_dag


class OperationError(TradewindError):
    """The operation names something that does not exist."""


def clear_tasks(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[str] | None,
    *,
    upstream: bool = False,
    downstream: bool = False,
    now: datetime,
) -> list[str]:
    """Clear tasks of a run (all when ``task_ids`` is None) and reopen the run; returns the ids."""
    run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise OperationError(f"DAG {dag_id!r} has no run {run_id!r}")
    data = (
        run_store.serialized_data(session, run.serialized_dag_id) if run.serialized_dag_id else None
    )
    if data is None:
        raise OperationError(f"the DAG version of run {run_id!r} is gone")
    dag = deserialize_dag(data)
    chosen = set(dag.tasks) if task_ids is None else set(task_ids)
    unknown = chosen - set(dag.tasks)
    if unknown:
        raise OperationError(f"DAG {dag_id!r} has no task {sorted(unknown)[0]!r}")
    for task_id in list(chosen):
        if upstream:
            chosen |= dag.relatives(task_id, upstream=True)
        if downstream:
            chosen |= dag.relatives(task_id)
    task_store.clear(session, dag_id, run_id, chosen, now=now)
    for task_id in chosen:
        xcom_store.delete_xcoms(session, run.id, task_id)
    run_store.reopen_run(session, run.id, now)
    return sorted(chosen)
