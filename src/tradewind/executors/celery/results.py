"""Reading the states of many tries from the Celery result backend in one round trip.

The executor watches every try in flight every ~50 ms; asking Celery for each one
(``AsyncResult.state``) would be one round trip per try. A :class:`StateReader` asks once for
all of them: on a Redis backend one ``MGET`` of the result keys, on the database backend one
``SELECT ... WHERE task_id IN (...)`` over Celery's ``celery_taskmeta`` table. A try the
backend knows nothing of (waiting in the broker, or taken but not yet reported) is absent
from the answer: Celery calls that PENDING.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tradewind.executors.base import ExecutorError
from tradewind.executors.celery import dbbackend

log = logging.getLogger(__name__)

# Ids per statement: keeps an IN list (and an MGET) of a large fan-out to a sane size.
CHUNK = 500


@dataclass(frozen=True)
class Seen:
    """What the result backend holds for one task: its Celery state and its result (decoded;
    the exception for FAILURE)."""

    status: str
    result: Any


class StateReader(abc.ABC):
    """Reads and forgets the results of many Celery tasks at once."""

    @abc.abstractmethod
    def fetch(self, task_ids: Sequence[str]) -> dict[str, Seen]:
        """The states the backend holds, by task id (absent: PENDING)."""

    @abc.abstractmethod
    def forget(self, task_ids: Sequence[str]) -> None:
        """Delete these results (they were reported)."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release connections."""


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


class KeyValueReader(StateReader):
    """A key-value backend (Redis): one MGET of ``celery-task-meta-<id>`` keys."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def fetch(self, task_ids: Sequence[str]) -> dict[str, Seen]:
        found: dict[str, Seen] = {}
        for chunk in _chunks(task_ids):
            keys = [self.backend.get_key_for_task(task_id) for task_id in chunk]
            for task_id, raw in zip(chunk, self.backend.mget(keys), strict=True):
                if raw:
                    meta = self.backend.decode_result(raw)
                    found[task_id] = Seen(meta["status"], meta.get("result"))
        return found

    def forget(self, task_ids: Sequence[str]) -> None:
        client = getattr(self.backend, "client", None)
        for chunk in _chunks(task_ids):
            keys = [self.backend.get_key_for_task(task_id) for task_id in chunk]
            if client is not None:
                client.delete(*keys)
            else:
                for key in keys:
                    self.backend.delete(key)

    def close(self) -> None:
        client = getattr(self.backend, "client", None)
        if client is not None:
            client.connection_pool.disconnect()


class DatabaseReader(StateReader):
    """Celery's database backend: one SELECT over its task table, on a pooled engine of its own
    (Celery's own sessions open a new connection each time outside a worker)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.table: sa.Table = backend.task_cls.__table__
        self.engine = sa.create_engine(backend.url, pool_size=1, max_overflow=2, pool_pre_ping=True)
        dbbackend.bound_engine(backend.app)(self.engine)

    def prepare(self) -> None:
        """Create Celery's tables if no worker has yet."""
        session = self.backend.ResultSession()
        session.close()

    def fetch(self, task_ids: Sequence[str]) -> dict[str, Seen]:
        table = self.table
        found: dict[str, Seen] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(task_ids):
                rows = connection.execute(
                    sa.select(table.c.task_id, table.c.status, table.c.result).where(
                        table.c.task_id.in_(chunk)
                    )
                )
                for task_id, status, raw in rows:
                    result = self.backend.decode(raw) if raw is not None else None
                    meta = self.backend.meta_from_decoded({"status": status, "result": result})
                    found[task_id] = Seen(status, meta["result"])
        return found

    def forget(self, task_ids: Sequence[str]) -> None:
        with self.engine.begin() as connection:
            for chunk in _chunks(task_ids):
                connection.execute(sa.delete(self.table).where(self.table.c.task_id.in_(chunk)))

    def close(self) -> None:
        self.engine.dispose()


def reader_for(app: Any) -> StateReader:
    """The bulk reader for the app's result backend (Redis or a database)."""
    from celery.backends.base import BaseKeyValueStoreBackend
    from celery.backends.database import DatabaseBackend

    backend = app.backend
    if isinstance(backend, DatabaseBackend):
        reader = DatabaseReader(backend)
        reader.prepare()
        return reader
    if isinstance(backend, BaseKeyValueStoreBackend):
        return KeyValueReader(backend)
    raise ExecutorError(
        f"the celery executor cannot watch tries through the result backend "
        f"{type(backend).__name__}: use the metastore's database (empty result_backend) "
        "or redis://"
    )
