"""The Browse pages' listings across every DAG: runs, task instances, XComs and jobs.

Each listing is a page (``limit`` rows from ``offset``) ordered by its main date column, which
has an index of its own (migration 0011), and a count that stops at :data:`COUNT_CAP`, so no
listing reads a whole table however large it grows. Filters on ids are equalities the tables'
indexes serve; the search is a case-insensitive "contains" over the ids, which reads rows in
date order only until a page is full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, Job, TaskInstance, XCom
from tradewind.metastore.store import xcom as xcom_store

T = TypeVar("T")

# A listing counts its matches up to this many; more are shown as "10000+".
COUNT_CAP = 10_000
# Offsets past any real table; larger ones would overflow the databases' integers.
MAX_OFFSET = 2**62


@dataclass(frozen=True)
class Window:
    """A page of a listing and its date bounds (inclusive; None: unbounded)."""

    limit: int
    offset: int = 0
    since: datetime | None = None
    until: datetime | None = None
    newest_first: bool = True


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of matches and how many match (at most :data:`COUNT_CAP`; ``capped`` when
    there are more)."""

    rows: list[T]
    total: int
    capped: bool


def _page(
    session: Session, query: Select[Any], column: Any, key: Any, window: Window
) -> tuple[list[Any], int, bool]:
    if window.since is not None:
        query = query.where(column >= window.since)
    if window.until is not None:
        query = query.where(column <= window.until)
    counted = session.scalar(
        select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())
    )
    total = int(counted or 0)
    order = (column.desc(), key.desc()) if window.newest_first else (column.asc(), key.asc())
    rows = session.scalars(
        query.order_by(*order).limit(window.limit).offset(min(window.offset, MAX_OFFSET))
    ).all()
    return list(rows), min(total, COUNT_CAP), total > COUNT_CAP


def _search(term: str | None, *columns: Any) -> Any:
    return or_(*(c.icontains(term, autoescape=True) for c in columns)) if term else None


def _filtered(query: Select[Any], *clauses: Any) -> Select[Any]:
    for clause in clauses:
        if clause is not None:
            query = query.where(clause)
    return query


def _equal(column: Any, value: str | None) -> Any:
    return column == value if value else None


@dataclass(frozen=True)
class RunFilter:
    dag_id: str | None = None
    states: Sequence[str] = ()
    run_type: str | None = None
    search: str | None = None  # in the DAG id or the run id


def runs(session: Session, where: RunFilter, window: Window) -> Listing[DagRun]:
    """Runs of every DAG, by logical date."""
    query = _filtered(
        select(DagRun),
        _equal(DagRun.dag_id, where.dag_id),
        DagRun.state.in_(list(where.states)) if where.states else None,
        _equal(DagRun.run_type, where.run_type),
        _search(where.search, DagRun.dag_id, DagRun.run_id),
    )
    return Listing(*_page(session, query, DagRun.logical_date, DagRun.id, window))


@dataclass(frozen=True)
class InstanceFilter:
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    states: Sequence[str] = ()  # "none": not yet considered (NULL)
    search: str | None = None  # in the DAG id, the task id or the run id


def instances(session: Session, where: InstanceFilter, window: Window) -> Listing[TaskInstance]:
    """Task instances of every DAG, by start date (those not started: where the database puts
    NULL in that order)."""
    named = [s for s in where.states if s != "none"]
    state = (
        or_(
            *([TaskInstance.state.in_(named)] if named else []),
            *([TaskInstance.state.is_(None)] if "none" in where.states else []),
        )
        if where.states
        else None
    )
    query = _filtered(
        select(TaskInstance),
        _equal(TaskInstance.dag_id, where.dag_id),
        _equal(TaskInstance.run_id, where.run_id),
        _equal(TaskInstance.task_id, where.task_id),
        state,
        _search(where.search, TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.run_id),
    )
    found = _page(session, query, TaskInstance.start_date, TaskInstance.id, window)
    return Listing(*found)


@dataclass(frozen=True)
class XComFilter:
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    key: str | None = None
    search: str | None = None  # in the DAG id, the task id, the run id or the key


def xcoms(session: Session, where: XComFilter, window: Window) -> Listing[xcom_store.XComEntry]:
    """XComs of every DAG, newest first, as people see them (a value that holds a secret the
    pushing try used is masked)."""
    query = _filtered(
        select(XCom),
        _equal(XCom.dag_id, where.dag_id),
        _equal(XCom.run_id, where.run_id),
        _equal(XCom.task_id, where.task_id),
        _equal(XCom.key, where.key),
        _search(where.search, XCom.dag_id, XCom.task_id, XCom.run_id, XCom.key),
    )
    rows, total, capped = _page(session, query, XCom.timestamp, XCom.id, window)
    return Listing([_shown(row) for row in rows], total, capped)


def _shown(row: XCom) -> xcom_store.XComEntry:
    masked = row.masked_value is not None
    return xcom_store.XComEntry(
        row.dag_id,
        row.run_id,
        row.task_id,
        row.map_index,
        row.key,
        row.masked_value if masked else row.value,
        row.timestamp,
        masked,
    )


@dataclass(frozen=True)
class JobFilter:
    job_type: str | None = None
    state: str | None = None
    search: str | None = None  # in the host name


def jobs(session: Session, where: JobFilter, window: Window) -> Listing[Job]:
    """Jobs (schedulers, triggerers, DAG processors), newest start first."""
    query = _filtered(
        select(Job),
        _equal(Job.job_type, where.job_type),
        _equal(Job.state, where.state),
        _search(where.search, Job.hostname),
    )
    return Listing(*_page(session, query, Job.start_date, Job.id, window))


def job_types(session: Session) -> list[str]:
    """The job types there are rows of (a handful: the index on job type serves it)."""
    return sorted(str(t) for t in session.scalars(select(Job.job_type).distinct()))
