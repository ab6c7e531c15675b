"""The file a registered DAG was parsed from: where ``tasks run``, ``tasks test`` and
``kubernetes generate-pod-yaml`` find a task when no DAG file is given."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tradewind.exceptions import TradewindError
from tradewind.metastore.store import dags as dag_store


class DagNotRegistered(TradewindError):
    """No registered DAG has this id, so its file is not known."""


def registered_fileloc(session: Session, dag_id: str) -> str:
    """The file ``dag_id`` was registered from (raises DagNotRegistered)."""
    dag = dag_store.get_dag(session, dag_id)
    if dag is None:
        raise DagNotRegistered(
            f"no DAG {dag_id!r} is registered (see `tradewind dags list`); pass --dag-file"
        )
    return dag.fileloc
