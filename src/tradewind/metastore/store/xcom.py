"""Queries about XComs: the small JSON values task instances hand to each other.

The scheduler stores what a finished try pushed (:func:`set_xcoms`) and clears a task
instance's values when it runs again (:func:`delete_xcoms`); the task runner reads them
(:func:`get_xcom`). A value that holds a secret the pushing try used is stored with its masked
rendition, and what people see (:func:`list_xcoms`) is that rendition.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import NO_MAP_INDEX, RETURN_VALUE_KEY, DagRun, XCom
from tradewind.metastore.types import utcnow


@dataclass(frozen=True)
class XComEntry:
    """An XCom as people see it: ``value`` is masked when ``masked`` is true."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any
    timestamp: datetime
    masked: bool = False


def set_xcoms(
    session: Session,
    dag_run_id: int,
    task_id: str,
    map_index: int,
    items: Iterable[Sequence[Any]],
) -> None:
    """Store what one task instance pushed, replacing equal keys: ``(key, value)`` items, or
    ``(key, value, shown)`` for a value that holds a secret (``shown`` is it masked).

    Values must be JSON-serializable (the task runner checks this before sending them).
    """
    values = {item[0]: (item[1], item[2] if len(item) > 2 else None) for item in items}
    if not values:
        return
    run = session.execute(
        select(DagRun.dag_id, DagRun.run_id).where(DagRun.id == dag_run_id)
    ).one_or_none()
    if run is None:
        raise LookupError(f"no DAG run with id {dag_run_id}")
    # Delete then insert keeps this one portable statement pair on every dialect; only the
    # scheduler writes a task instance's XComs, so nothing races between the two.
    session.execute(
        delete(XCom).where(
            XCom.dag_run_id == dag_run_id,
            XCom.task_id == task_id,
            XCom.map_index == map_index,
            XCom.key.in_(list(values)),
        )
    )
    now = utcnow()
    session.add_all(
        XCom(
            dag_run_id=dag_run_id,
            dag_id=run.dag_id,
            run_id=run.run_id,
            task_id=task_id,
            map_index=map_index,
            key=key,
            value=value,
            masked_value=shown,
            timestamp=now,
        )
        for key, (value, shown) in values.items()
    )
    session.flush()


def get_xcom(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str | None,
    key: str = RETURN_VALUE_KEY,
    *,
    map_index: int = NO_MAP_INDEX,
) -> Any:
    """The value ``task_id`` pushed under ``key`` in the run, or None.

    With ``task_id`` None, the latest value pushed under ``key`` by any task of the run.
    """
    found = pull_xcom(session, dag_id, run_id, task_id, key, map_index=map_index)
    return None if found is None else found[0]


def pull_xcom(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str | None,
    key: str = RETURN_VALUE_KEY,
    *,
    map_index: int = NO_MAP_INDEX,
) -> tuple[Any, Any] | None:
    """``(value, shown)`` as :func:`get_xcom` finds it (``shown``: the value masked when it
    holds a secret, else None); None when there is no such XCom."""
    query = (
        select(XCom.value, XCom.masked_value)
        .join(DagRun, DagRun.id == XCom.dag_run_id)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.run_id == run_id,
            XCom.key == key,
            XCom.map_index == map_index,
        )
        .order_by(XCom.timestamp.desc(), XCom.id.desc())
        .limit(1)
    )
    if task_id is not None:
        query = query.where(XCom.task_id == task_id)
    row = session.execute(query).first()
    return None if row is None else (row.value, row.masked_value)


def list_xcoms(
    session: Session,
    dag_id: str,
    run_id: str,
    *,
    task_id: str | None = None,
    map_index: int | None = None,
) -> list[XComEntry]:
    """The XComs of a run (optionally of one task instance), by task, map index and key, as
    people see them (a value that holds a secret masked)."""
    query = (
        select(XCom)
        .join(DagRun, DagRun.id == XCom.dag_run_id)
        .where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        .order_by(XCom.task_id, XCom.map_index, XCom.key)
    )
    if task_id is not None:
        query = query.where(XCom.task_id == task_id)
    if map_index is not None:
        query = query.where(XCom.map_index == map_index)
    return [_shown(x) for x in session.scalars(query)]


def _shown(row: XCom) -> XComEntry:
    masked = row.masked_value is not None
    value = row.masked_value if masked else row.value
    return XComEntry(
        row.dag_id, row.run_id, row.task_id, row.map_index, row.key, value, row.timestamp, masked
    )


def delete_xcoms(
    session: Session,
    dag_run_id: int,
    task_id: str,
    map_index: int | None = None,
    *,
    map_indexes: Collection[int] | None = None,
) -> int:
    """Delete what a task instance pushed (all map indexes when None; or those of
    ``map_indexes``, instances of a mapped task); how many rows went."""
    query = delete(XCom).where(XCom.dag_run_id == dag_run_id, XCom.task_id == task_id)
    if map_index is not None:
        query = query.where(XCom.map_index == map_index)
    if map_indexes is not None:
        query = query.where(XCom.map_index.in_(list(map_indexes)))
    result = session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]


def _mapped_query(dag_id: str, run_id: str, task_id: str, key: str) -> Select[Any]:
    return (
        select(XCom.value, XCom.masked_value)
        .join(DagRun, DagRun.id == XCom.dag_run_id)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.run_id == run_id,
            XCom.task_id == task_id,
            XCom.key == key,
            XCom.map_index >= 0,
        )
    )


def count_mapped_xcoms(session: Session, dag_id: str, run_id: str, task_id: str, key: str) -> int:
    """How many instances of a mapped task pushed ``key`` in the run."""
    query = _mapped_query(dag_id, run_id, task_id, key).subquery()
    return int(session.execute(select(func.count()).select_from(query)).scalar_one())


def mapped_xcoms(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    *,
    offset: int,
    limit: int,
) -> list[tuple[Any, Any]]:
    """``(value, shown)`` of the instances that pushed ``key``, in map-index order, from
    position ``offset`` (instances that pushed nothing take no position)."""
    query = (
        _mapped_query(dag_id, run_id, task_id, key)
        .order_by(XCom.map_index)
        .offset(offset)
        .limit(limit)
    )
    return [(row.value, row.masked_value) for row in session.execute(query)]
