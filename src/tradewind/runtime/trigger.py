"""Manual runs: trigger a DAG with conf and an optional logical date.

Used by the REST API, the CLI and ``dags test`` (through :mod:`tradewind.scheduler.trigger`),
and by a try of TriggerDagRunOperator (:mod:`tradewind.runtime.crossdag`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.exceptions import TradewindError
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.parsing import registry
from tradewind.states import DagRunType


class TriggerError(TradewindError):
    """The run cannot be created (unknown DAG, bad conf, run id taken)."""


def trigger_dag(
    session: Session,
    dag_id: str,
    *,
    now: datetime,
    run_id: str | None = None,
    conf: dict[str, Any] | None = None,
    logical_date: datetime | None = None,
    note: str | None = None,
) -> DagRun:
    """Create a queued manual run; the scheduler starts it (a paused DAG's run waits)."""
    row = dag_store.get_dag(session, dag_id)
    if row is None:
        raise TriggerError(f"no DAG {dag_id!r} is registered (see `tradewind dags list`)")
    if row.has_import_errors:
        raise TriggerError(
            f"DAG {dag_id!r} cannot be triggered: its file {row.fileloc} fails to import "
            "(see `tradewind dags list-import-errors`); fix the file and trigger it once "
            "the DAG processor has parsed it again"
        )
    dag = registry.load_serialized(session, dag_id)
    if conf is not None and not isinstance(conf, dict):
        raise TriggerError("conf must be a JSON object")
    try:
        dag.resolve_params(conf or {})
    except (ValueError, TypeError) as exc:
        raise TriggerError(f"bad conf for {dag_id}: {exc}") from None
    when = logical_date or now
    if when.tzinfo is None:
        raise TriggerError("the logical date needs a time zone (e.g. 2024-01-01T00:00:00+00:00)")
    interval = dag.infer_manual_data_interval(when)
    try:
        return run_store.create_dag_run(
            session,
            dag_id=dag_id,
            run_id=run_id or run_store.run_id_for(DagRunType.MANUAL, when),
            logical_date=when,
            data_interval=(interval.start, interval.end),
            run_type=DagRunType.MANUAL,
            conf=conf,
            now=now,
            external_trigger=True,
            note=note,
        )
    except run_store.RunExists as exc:
        raise TriggerError(str(exc)) from None
