"""The audit log: who did what, when (triggers, clears, marks, pauses, edits, logins)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tradewind.metastore.models import AuditLog


def record(
    session: Session,
    *,
    event: str,
    owner: str | None,
    now: datetime,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Add one entry; it commits with the change it describes."""
    session.execute(
        insert(AuditLog).values(
            dttm=now,
            event=event[:60],
            owner=owner,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            extra=json.dumps(dict(extra), default=str, sort_keys=True) if extra else None,
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    event: str | None = None
    owner: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None


def list_entries(
    session: Session, where: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditLog], int]:
    """Entries matching ``where``, newest first, and how many match in all."""
    query = select(AuditLog)
    for column, value in (
        (AuditLog.event, where.event),
        (AuditLog.owner, where.owner),
        (AuditLog.dag_id, where.dag_id),
        (AuditLog.run_id, where.run_id),
        (AuditLog.task_id, where.task_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.after is not None:
        query = query.where(AuditLog.dttm >= where.after)
    if where.before is not None:
        query = query.where(AuditLog.dttm < where.before)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AuditLog.dttm.desc(), AuditLog.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total
