"""Writes through the web server leave an audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from tradewind.api.security import Principal
from tradewind.metastore.store import audit as audit_store
from tradewind.metastore.types import utcnow


def record(
    session: Session,
    who: Principal,
    event: str,
    *,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    audit_store.record(
        session,
        event=event,
        owner=who.username or "anonymous",
        now=utcnow(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        extra=extra,
    )
