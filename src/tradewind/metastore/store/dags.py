"""Queries about registered DAGs for the CLI, the web server and the scheduler: listing, reading,
pausing and deleting DAGs, their code, serialized versions and import errors.

What the DAG processor writes (files, parses, serialized versions): store/dagfiles.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import (
    DagCode,
    DagFile,
    DagModel,
    DagRun,
    DagTag,
    ParseImportError,
    SerializedDagModel,
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
    TaskTryClaim,
    XCom,
)
from tradewind.metastore.notify import notify
from tradewind.states import DagRunType


def fileloc_hash(fileloc: str) -> str:
    return hashlib.sha256(fileloc.encode()).hexdigest()


def list_dags(
    session: Session,
    *,
    include_inactive: bool = False,
    tags: Sequence[str] = (),
    dag_id_contains: str | None = None,
) -> list[DagModel]:
    query = select(DagModel).order_by(DagModel.dag_id)
    if not include_inactive:
        query = query.where(DagModel.is_active.is_(True))
    if tags:
        query = query.where(
            DagModel.dag_id.in_(select(DagTag.dag_id).where(DagTag.name.in_(list(tags))))
        )
    if dag_id_contains:
        query = query.where(DagModel.dag_id.contains(dag_id_contains, autoescape=True))
    return list(session.scalars(query).all())


def get_dag(session: Session, dag_id: str) -> DagModel | None:
    return session.get(DagModel, dag_id)


def latest_serialized(session: Session, dag_id: str) -> SerializedDagModel | None:
    return session.scalars(
        select(SerializedDagModel)
        .where(SerializedDagModel.dag_id == dag_id)
        .order_by(SerializedDagModel.version.desc())
        .limit(1)
    ).first()


def latest_versions(session: Session, dag_ids: Sequence[str]) -> dict[str, int]:
    """The id of each DAG's newest serialized version."""
    if not dag_ids:
        return {}
    newest = (
        select(SerializedDagModel.dag_id, func.max(SerializedDagModel.version).label("v"))
        .where(SerializedDagModel.dag_id.in_(list(dag_ids)))
        .group_by(SerializedDagModel.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(SerializedDagModel.dag_id, SerializedDagModel.id).join(
            newest,
            (newest.c.dag_id == SerializedDagModel.dag_id)
            & (newest.c.v == SerializedDagModel.version),
        )
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}


def count_versions(session: Session, dag_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SerializedDagModel)
            .where(SerializedDagModel.dag_id == dag_id)
        )
        or 0
    )


def set_paused(session: Session, dag_id: str, paused: bool) -> bool:
    """Pause or unpause a DAG; False when there is no such DAG."""
    result = session.execute(
        update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=paused)
    )
    if not paused:
        notify(session)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_import_errors(session: Session) -> list[ParseImportError]:
    return list(session.scalars(select(ParseImportError).order_by(ParseImportError.filename)))


def get_code(session: Session, fileloc: str) -> str | None:
    row = session.get(DagCode, fileloc_hash(fileloc))
    return row.source if row else None


def last_automated_interval(session: Session, dag_id: str) -> tuple[datetime, datetime] | None:
    """The data interval of the DAG's latest scheduled (or backfilled) run, if any."""
    row = session.execute(
        select(DagRun.data_interval_start, DagRun.data_interval_end)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.run_type.in_([DagRunType.SCHEDULED.value, DagRunType.BACKFILL.value]),
            DagRun.data_interval_start.is_not(None),
        )
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return row[0], row[1]


def page_import_errors(
    session: Session, *, limit: int, offset: int
) -> tuple[list[ParseImportError], int]:
    """Import errors by file name, one page of them, and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(ParseImportError)) or 0
    rows = session.scalars(
        select(ParseImportError)
        .order_by(ParseImportError.filename, ParseImportError.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def import_error_of_file(session: Session, fileloc: str) -> ParseImportError | None:
    """The import error of a DAG file's last parse, if it had one."""
    return session.scalars(
        select(ParseImportError)
        .where(ParseImportError.fileloc_hash == fileloc_hash(fileloc))
        .order_by(ParseImportError.id.desc())
        .limit(1)
    ).first()


def get_import_error(session: Session, error_id: int) -> ParseImportError | None:
    return session.get(ParseImportError, error_id)


def delete_dag(session: Session, dag_id: str) -> bool:
    """Delete everything the metastore holds about a DAG; False when there is no such DAG.

    Rows go children first (no reliance on ON DELETE CASCADE, which SQLite only honours with
    its foreign-key pragma). The file's source stays while another DAG of the file remains;
    the file's parse record goes, so that the file, if still there, is parsed again.
    """
    loc_hash = session.scalar(select(DagModel.fileloc_hash).where(DagModel.dag_id == dag_id))
    if loc_hash is None:
        return False
    for table in (XCom, TaskTryClaim, TaskReschedule, TaskInstanceHistory, TaskInstance):
        session.execute(delete(table).where(table.dag_id == dag_id))
    session.execute(delete(DagRun).where(DagRun.dag_id == dag_id))
    session.execute(delete(SerializedDagModel).where(SerializedDagModel.dag_id == dag_id))
    session.execute(delete(DagTag).where(DagTag.dag_id == dag_id))
    session.execute(delete(DagModel).where(DagModel.dag_id == dag_id))
    others = session.scalar(
        select(func.count()).select_from(DagModel).where(DagModel.fileloc_hash == loc_hash)
    )
    if not others:
        session.execute(delete(DagCode).where(DagCode.fileloc_hash == loc_hash))
    session.execute(delete(DagFile).where(DagFile.fileloc_hash == loc_hash))
    return True
