"""What a try may do to other DAGs' runs: read their states (ExternalTaskSensor) and trigger or
clear a run (TriggerDagRunOperator).

One :class:`CrossDag` serves both, as ``context[RUNS_KEY]`` and ``context[TRIGGER_KEY]``. It
opens an engine of its own on first use, so a try that uses neither opens nothing. Reads take
no write lock on SQLite; a trigger is one short write transaction that wakes the scheduler, as
a run triggered through the REST API does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import crossdag as crossdag_store
from tradewind.metastore.store import handmade as handmade_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.operators import trigger_dagrun
from tradewind.parsing import registry
from tradewind.runtime.trigger import TriggerError, trigger_dag
from tradewind.sensors import external_task


class CrossDag:
    """A :class:`~tradewind.sensors.external_task.DagRunsView` and a
    :class:`~tradewind.operators.trigger_dagrun.DagRunTrigger` on the metastore."""

    def __init__(self, make_engine: Callable[[], Engine]) -> None:
        self._make_engine = make_engine
        self._engine: Engine | None = None

    def context_entries(self) -> dict[str, Any]:
        """The context entries that hand this object to the tasks that use it."""
        return {external_task.RUNS_KEY: self, trigger_dagrun.TRIGGER_KEY: self}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _bound(self) -> Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        reader = self._bound().execution_options(**{engine_module.READ_ONLY: True})
        with sessionmaker(bind=reader, expire_on_commit=False)() as session:
            yield session

    def _write(self, change: Callable[[Session], Any]) -> Any:
        return engine_module.write(engine_module.session_factory(self._bound()), change)

    # -- reads (ExternalTaskSensor) -----------------------------------------------------------

    def dag_tasks(self, dag_id: str) -> Mapping[str, str | None] | None:
        with self._reading() as session:
            try:
                dag = registry.load_serialized(session, dag_id)
            except registry.DagNotFound:
                return None
        return {task_id: task.task_group_id for task_id, task in dag.tasks.items()}

    def run_states(self, dag_id: str, logical_dates: Collection[datetime]) -> list[str]:
        with self._reading() as session:
            return crossdag_store.run_states_at(session, dag_id, logical_dates)

    def task_states(
        self, dag_id: str, logical_dates: Collection[datetime], task_ids: Collection[str]
    ) -> list[str | None]:
        with self._reading() as session:
            return crossdag_store.task_states_at(session, dag_id, logical_dates, task_ids)

    # -- runs (TriggerDagRunOperator) ---------------------------------------------------------

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        with self._reading() as session:
            run = run_store.get_run(session, dag_id, run_id)
            return None if run is None else str(run.state)

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str | None,
        conf: dict[str, Any] | None,
        logical_date: datetime | None,
    ) -> tuple[str, datetime]:
        def change(session: Session) -> tuple[str, datetime]:
            run = trigger_dag(
                session,
                dag_id,
                now=datetime.now(UTC),
                run_id=run_id,
                conf=conf,
                logical_date=logical_date,
            )
            return run.run_id, run.logical_date

        try:
            made: tuple[str, datetime] = self._write(change)
        except TriggerError as exc:
            raise trigger_dagrun.TriggerFailed(str(exc)) from None
        return made

    def reset_run(self, dag_id: str, run_id: str) -> None:
        def change(session: Session) -> None:
            run = run_store.get_run(session, dag_id, run_id)
            if run is None:
                return
            now = datetime.now(UTC)
            task_ids = list(task_store.states_of_run(session, dag_id, run_id))
            handmade_store.clear(session, dag_id, run_id, task_ids, now=now)
            for task_id in task_ids:
                xcom_store.delete_xcoms(session, run.id, task_id)
            run_store.reopen_run(session, run.id, now)
            run_store.request_decision(session, [run.id])

        self._write(change)
