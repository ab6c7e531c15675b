"""/eventLogs: the audit log, newest first (viewer role or higher)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from tradewind.api.deps import AsViewer, DbSession, Paged
from tradewind.api.routes.fields import PATH_TEXT, Rfc3339, utc
from tradewind.metastore.models import AuditLog
from tradewind.metastore.store import audit as audit_store

router = APIRouter(tags=["audit"])

Filter = Annotated[str | None, Query(pattern=PATH_TEXT, max_length=500)]
When = Annotated[AwareDatetime | None, Rfc3339, Query(description="RFC 3339, with a time zone.")]


class EventLog(BaseModel):
    id: int
    when: datetime
    event: str
    owner: str | None
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    extra: dict[str, Any] | None


class EventLogList(BaseModel):
    event_logs: list[EventLog]
    total_entries: int


def _extra(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def _out(row: AuditLog) -> EventLog:
    return EventLog(
        id=row.id,
        when=row.dttm,
        event=row.event,
        owner=row.owner,
        dag_id=row.dag_id,
        run_id=row.run_id,
        task_id=row.task_id,
        extra=_extra(row.extra),
    )


@router.get("/eventLogs", response_model=EventLogList)
def list_event_logs(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    event: Filter = None,
    owner: Filter = None,
    dag_id: Filter = None,
    run_id: Filter = None,
    task_id: Filter = None,
    after: When = None,
    before: When = None,
) -> EventLogList:
    """Audit entries matching every filter given (``after`` inclusive, ``before`` exclusive)."""
    rows, total = audit_store.list_entries(
        session,
        audit_store.AuditFilter(
            event=event,
            owner=owner,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            after=utc(after),
            before=utc(before),
        ),
        limit=page.limit,
        offset=page.offset,
    )
    return EventLogList(event_logs=[_out(row) for row in rows], total_entries=total)
