"""Queries about rendered template fields (Airflow's RenderedTaskInstanceFields).

The scheduler stores what finished tries rendered (:func:`set_rendered`, one upsert for a
whole batch of tries); the API reads a task instance's row (:func:`get_rendered`). Values
arrive JSON-safe, masked and size-capped: the task runner prepares them
(:mod:`tradewind.runtime.rendered`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from tradewind.metastore.models import NO_MAP_INDEX, RenderedTaskInstanceFields
from tradewind.metastore.types import MYSQL_DIALECTS, utcnow

_KEY = ("dag_id", "run_id", "task_id", "map_index")
_UPDATED = ("try_number", "rendered_fields", "updated_at")


@dataclass(frozen=True)
class Rendered:
    """What one try of a task instance rendered."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    fields: Mapping[str, Any]
    updated_at: datetime | None = None


def set_rendered(session: Session, items: Sequence[Rendered]) -> None:
    """Store the rendered fields of several task instances, replacing what earlier tries left.

    One INSERT ... ON CONFLICT/ON DUPLICATE KEY UPDATE for the whole batch, executed with
    the rows as its parameters (and compiled once per process); a task instance listed twice
    keeps its last entry.
    """
    if not items:
        return
    now = utcnow()
    latest = {(i.dag_id, i.run_id, i.task_id, i.map_index): i for i in items}
    rows = [
        {
            "dag_id": item.dag_id,
            "run_id": item.run_id,
            "task_id": item.task_id,
            "map_index": item.map_index,
            "try_number": item.try_number,
            "rendered_fields": dict(item.fields),
            "updated_at": now,
        }
        for item in latest.values()
    ]
    session.execute(_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Insert:
    table = cast(Table, RenderedTaskInstanceFields.__table__)
    if dialect in MYSQL_DIALECTS:
        on_mysql = mysql.insert(table)
        return on_mysql.on_duplicate_key_update(
            {name: on_mysql.inserted[name] for name in _UPDATED}
        )
    if dialect == "postgresql":
        on_pg = postgresql.insert(table)
        return on_pg.on_conflict_do_update(
            index_elements=list(_KEY), set_={name: on_pg.excluded[name] for name in _UPDATED}
        )
    if dialect == "sqlite":
        on_sqlite = sqlite.insert(table)
        return on_sqlite.on_conflict_do_update(
            index_elements=list(_KEY), set_={name: on_sqlite.excluded[name] for name in _UPDATED}
        )
    raise NotImplementedError(f"no upsert for the {dialect!r} dialect")


def get_rendered(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = NO_MAP_INDEX
) -> Rendered | None:
    """The latest rendered fields of a task instance; None when no try has rendered yet."""
    row = session.scalars(
        select(RenderedTaskInstanceFields).where(
            RenderedTaskInstanceFields.dag_id == dag_id,
            RenderedTaskInstanceFields.run_id == run_id,
            RenderedTaskInstanceFields.task_id == task_id,
            RenderedTaskInstanceFields.map_index == map_index,
        )
    ).one_or_none()
    if row is None:
        return None
    return Rendered(
        row.dag_id,
        row.run_id,
        row.task_id,
        row.map_index,
        row.try_number,
        dict(row.rendered_fields or {}),
        row.updated_at,
    )
