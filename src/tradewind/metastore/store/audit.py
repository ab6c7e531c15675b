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

# What an entry keeps of the details of a request (a run's conf, say), in characters of JSON:
# the audit log says who did what and when, it is not a copy of every value sent.
MAX_EXTRA_CHARS = 4096


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
            extra=bounded(extra) if extra else None,
        )
    )


def bounded(extra: Mapping[str, Any], limit: int = MAX_EXTRA_CHARS) -> str:
    """``extra`` as JSON text of at most about ``limit`` characters: each value too long for its
    share is kept as the start of its JSON text and its full length."""
    text = json.dumps(dict(extra), default=str, sort_keys=True)
    if len(text) <= limit:
        return text
    share = max(limit // len(extra), 64)
    kept: dict[str, Any] = {}
    for key, value in sorted(extra.items()):
        part = json.dumps(value, default=str)
        kept[str(key)[:share]] = (
            value if len(part) <= share else f"{part[:share]}... ({len(part)} characters)"
        )
    text = json.dumps(kept, sort_keys=True)
    if len(text) <= 2 * limit:
        return text
    # So many keys that even their shares add up: keep the start of the whole.
    return json.dumps({"truncated": text[:limit]})


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
