"""What one try reads from the metastore: its DAG run, XComs, variables and connections.

The try opens an engine of its own and only reads (on SQLite without taking the write lock);
each read is a short transaction. Variables and connections are cached for the try, and each
secret read (an XCom's too) is handed to the masker before the task can see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import DagRun, TaskInstance, TaskReschedule
from tradewind.metastore.store import assetreads
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import variables as variable_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.runtime.context import DagRunView, PreviousRun
from tradewind.runtime.masking import SecretsMasker
from tradewind.workloads import TaskKey

_NOTHING = object()


class MetastoreUnavailable(TradewindError):
    """A task asked for metastore data where there is no metastore (``tasks test``)."""


class MetastoreReader:
    """A :class:`~tradewind.runtime.context.Source` on the metastore; ``engine`` None = none.

    ``engine`` may be a function that makes one: it is then called on the first read, so a
    try that reads nothing (most tries: the scheduler hands them their run) opens nothing.
    """

    def __init__(
        self,
        engine: Engine | Callable[[], Engine] | None,
        cipher: crypto.Cipher,
        masker: SecretsMasker,
        *,
        handed: Mapping[tuple[str, str, str, str], Any] | None = None,
    ):
        self._engine: Engine | None = None
        # XComs the scheduler handed the try (dag_id, run_id, task_id, key -> the value its
        # plain task pushed), answered without a read.
        self._handed = dict(handed or {})
        self._make_engine = engine if callable(engine) else None
        self._session_factory: sessionmaker[Session] | None = None
        if isinstance(engine, Engine):
            self._bind(engine)
        self._cipher = cipher
        self.masker = masker
        self._variables: dict[str, str | None] = {}
        self._connections: dict[str, connection_store.Connection | None] = {}

    def _bind(self, engine: Engine) -> None:
        self._engine = engine
        reader = engine.execution_options(**{engine_module.READ_ONLY: True})
        self._session_factory = sessionmaker(bind=reader, expire_on_commit=False)

    @property
    def _sessions(self) -> sessionmaker[Session] | None:
        if self._session_factory is None and self._make_engine is not None:
            make, self._make_engine = self._make_engine, None
            self._bind(make())
        return self._session_factory

    def close(self) -> None:
        """Close the engine's connections (the reader is not used afterwards)."""
        if self._engine is not None:
            self._engine.dispose()

    def _session(self, what: str) -> Session:
        if self._sessions is None:
            raise MetastoreUnavailable(
                f"cannot read {what}: no metastore (run `tradewind db init` first)"
            )
        return self._sessions()

    def dag_run(self, dag_id: str, run_id: str) -> DagRunView | None:
        # A Core query on the table: every try runs it on a fresh engine, where compiling an
        # ORM entity query costs several times more.
        table = DagRun.__table__
        with self._session(f"DAG run {run_id!r}") as session:
            row = session.execute(
                select(table).where(table.c.dag_id == dag_id, table.c.run_id == run_id)
            ).one_or_none()
            if row is None:
                return None
            previous = run_store.previous_success(session, dag_id, row.logical_date)
            earlier = run_store.previous_success_data(previous)
        return DagRunView(
            dag_id=row.dag_id,
            run_id=row.run_id,
            logical_date=row.logical_date,
            data_interval_start=row.data_interval_start or row.logical_date,
            data_interval_end=row.data_interval_end or row.logical_date,
            run_type=row.run_type,
            conf=dict(row.conf or {}),
            start_date=row.start_date,
            external_trigger=row.external_trigger,
            id=row.id,
            previous_success=None if earlier is None else PreviousRun.from_json(earlier),
        )

    def reschedules(self, key: TaskKey) -> tuple[datetime | None, int]:
        """When this try's first reschedule started, and how many reschedules it had."""
        with self._session("sensor reschedules") as session:
            first, count = session.execute(
                select(func.min(TaskReschedule.start_date), func.count()).where(
                    TaskReschedule.dag_id == key.dag_id,
                    TaskReschedule.run_id == key.run_id,
                    TaskReschedule.task_id == key.task_id,
                    TaskReschedule.map_index == key.map_index,
                    TaskReschedule.try_number == key.try_number,
                )
            ).one()
        return first, int(count)

    def next_method(self, key: TaskKey) -> tuple[str | None, dict[str, Any] | None]:
        """Where this try resumes after a deferral (its task instance's ``next_method`` and
        ``next_kwargs``); ``(None, None)``: it starts from ``execute``."""
        table = TaskInstance.__table__
        with self._session("the task instance") as session:
            row = session.execute(
                select(table.c.next_method, table.c.next_kwargs).where(
                    table.c.dag_id == key.dag_id,
                    table.c.run_id == key.run_id,
                    table.c.task_id == key.task_id,
                    table.c.map_index == key.map_index,
                    table.c.try_number == key.try_number,
                )
            ).one_or_none()
        if row is None or row.next_method is None:
            return None, None
        return str(row.next_method), dict(row.next_kwargs or {})

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        if task_id is not None and map_index == -1:
            handed = self._handed.get((dag_id, run_id, task_id, key), _NOTHING)
            if handed is not _NOTHING:
                return handed
        if self._sessions is None:
            return None
        with self._sessions() as session:
            found = xcom_store.pull_xcom(session, dag_id, run_id, task_id, key, map_index=map_index)
        if found is None:
            return None
        value, shown = found
        if shown is not None:
            # It holds a secret the pushing try used: this try must not show it either.
            self.masker.add_masked(value, shown)
        return value

    def xcom_count(self, dag_id: str, run_id: str, task_id: str, key: str) -> int:
        if self._sessions is None:
            return 0
        with self._sessions() as session:
            return xcom_store.count_mapped_xcoms(session, dag_id, run_id, task_id, key)

    def xcom_values(
        self, dag_id: str, run_id: str, task_id: str, key: str, *, offset: int, limit: int
    ) -> list[Any]:
        if self._sessions is None:
            return []
        with self._sessions() as session:
            rows = xcom_store.mapped_xcoms(
                session, dag_id, run_id, task_id, key, offset=offset, limit=limit
            )
        for value, shown in rows:
            if shown is not None:
                self.masker.add_masked(value, shown)
        return [value for value, _ in rows]

    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        with self._session("the run's triggering asset events") as session:
            return [e.to_json() for e in assetreads.run_events(session, dag_id, run_id)]

    def asset_events(self, uri: str, *, limit: int) -> list[dict[str, Any]]:
        with self._session(f"the events of asset {uri!r}") as session:
            return [e.to_json() for e in assetreads.asset_events(session, [uri], limit=limit)]

    def variable(self, key: str) -> str | None:
        if key not in self._variables:
            with self._session(f"variable {key!r}") as session:
                value = variable_store.get_variable(session, key, self._cipher)
            if value is not None and crypto.looks_secret(key):
                self.masker.add_json_text(value)
            self._variables[key] = value
        return self._variables[key]

    def forget_variable(self, key: str) -> None:
        """Read ``key`` again on its next read (this process has just changed it)."""
        self._variables.pop(key, None)

    def connection(self, conn_id: str) -> connection_store.Connection | None:
        if conn_id not in self._connections:
            with self._session(f"connection {conn_id!r}") as session:
                found = connection_store.get_connection(session, conn_id, self._cipher)
            if found is not None:
                for secret in found.secrets():
                    self.masker.add(secret)
            self._connections[conn_id] = found
        return self._connections[conn_id]
