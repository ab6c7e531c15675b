"""Airflow's ``Connection`` lookups and ``BaseHook.get_connection`` for DAG code.

A :class:`Connection` is the metastore's connection value (Airflow's field names,
``extra_dejson``, ``get_uri()``) with Airflow's ways of finding one by id. Lookups go where
:mod:`tradewind.runtime.lookups` says; templates keep ``{{ conn.my_db.host }}``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from tradewind.exceptions import NotFound
from tradewind.metastore.store import connections as connection_store
from tradewind.runtime import lookups


class Connection(connection_store.Connection):
    """A connection (``Connection(conn_id=..., conn_type=..., host=...)`` builds one in memory)."""

    @classmethod
    def get(cls, conn_id: str) -> Connection:
        """The stored connection ``conn_id`` (Airflow 3's spelling); NotFound when missing."""
        found = lookups.source().connection(conn_id)
        if found is None:
            raise NotFound(f"The conn_id `{conn_id}` isn't defined")
        values = {f.name: getattr(found, f.name) for f in dataclasses.fields(found)}
        return cls(**values)

    @classmethod
    def get_connection_from_secrets(cls, conn_id: str) -> Connection:
        """Airflow 2's spelling of :meth:`get`."""
        return cls.get(conn_id)

    def get_password(self) -> str | None:
        return self.password

    def get_extra(self) -> str | None:
        return self.extra


class BaseHook:
    """The base of hooks: ``BaseHook.get_connection(conn_id)`` and a logger."""

    def __init__(self, logger_name: str | None = None, **_: Any) -> None:
        self.log = logging.getLogger(
            logger_name or f"{type(self).__module__}.{type(self).__name__}"
        )

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The stored connection ``conn_id``; :class:`~tradewind.exceptions.NotFound` if none."""
        return Connection.get(conn_id)
