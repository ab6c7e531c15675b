"""The XComs a task instance pushed (viewer role or higher)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession, Paged
from tradewind.api.errors import not_found
from tradewind.api.routes.logs import task_instance
from tradewind.metastore.store import xcom as xcom_store

router = APIRouter(tags=["xcom"])

BASE = "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"


class XComEntry(BaseModel):
    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any
    timestamp: datetime


class XComList(BaseModel):
    xcom_entries: list[XComEntry]
    total_entries: int


def _out(entry: xcom_store.XComEntry) -> XComEntry:
    return XComEntry(
        dag_id=entry.dag_id,
        dag_run_id=entry.run_id,
        task_id=entry.task_id,
        map_index=entry.map_index,
        key=entry.key,
        value=entry.value,
        timestamp=entry.timestamp,
    )


def _entries(session: DbSession, dag_id: str, run_id: str, task_id: str) -> list[XComEntry]:
    task_instance(session, dag_id, run_id, task_id)
    found = xcom_store.list_xcoms(session, dag_id, run_id, task_id=task_id)
    return [_out(entry) for entry in found]


@router.get(BASE, response_model=XComList)
def list_xcom_entries(
    dag_id: str, run_id: str, task_id: str, *, session: DbSession, who: AsViewer, page: Paged
) -> XComList:
    """The task instance's XComs by key, with their JSON values."""
    entries = _entries(session, dag_id, run_id, task_id)
    shown = entries[page.offset : page.offset + page.limit]
    return XComList(xcom_entries=shown, total_entries=len(entries))


@router.get(BASE + "/{xcom_key}", response_model=XComEntry)
def get_xcom_entry(
    dag_id: str,
    run_id: str,
    task_id: str,
    xcom_key: Annotated[str, Path(max_length=512)],
    *,
    session: DbSession,
    who: AsViewer,
) -> XComEntry:
    for entry in _entries(session, dag_id, run_id, task_id):
        if entry.key == xcom_key:
            return entry
    raise not_found(f"task {task_id!r} of DAG run {run_id!r} pushed no XCom {xcom_key!r}")
