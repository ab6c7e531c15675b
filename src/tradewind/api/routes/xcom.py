"""The XComs a task instance pushed (viewer role or higher).

A value that holds a secret the pushing try used (a connection's password it echoed, say) is
shown masked (``value_masked``); the tasks that pull it still get it whole. A value longer than
``webserver.display_value_kb`` is shown cut (``value_truncated``); ``.../{xcom_key}/value``
downloads all of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from tradewind.api import display
from tradewind.api.deps import AsViewer, DbSession, Paged, Web
from tradewind.api.errors import not_found
from tradewind.api.routes.logs import task_instance
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import xcom as xcom_store

router = APIRouter(tags=["xcom"])

BASE = "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
XComKey = Annotated[str, Path(max_length=512)]
MapIndex = Annotated[
    int | None,
    Query(
        ge=-1,
        le=2_147_483_647,
        description=(
            "The map index of one instance of a mapped task (absent: every instance; for one"
            " entry, the first instance that pushed it)."
        ),
    ),
]


class XComEntry(BaseModel):
    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any = Field(
        description="The value; when value_truncated, the start of its JSON text (a string)."
    )
    value_truncated: bool = Field(
        default=False, description="Cut to webserver.display_value_kb: GET .../value has it all."
    )
    value_size: int = Field(default=0, description="Bytes of the value's JSON text (UTF-8).")
    value_masked: bool = Field(
        default=False, description="The value held a secret the pushing try used: it is masked."
    )
    timestamp: datetime


class XComList(BaseModel):
    xcom_entries: list[XComEntry]
    total_entries: int


def _out(entry: xcom_store.XComEntry, limit: int) -> XComEntry:
    shown = display.of_json(entry.value, limit)
    return XComEntry(
        dag_id=entry.dag_id,
        dag_run_id=entry.run_id,
        task_id=entry.task_id,
        map_index=entry.map_index,
        key=entry.key,
        value=shown.value,
        value_truncated=shown.truncated,
        value_size=shown.size,
        value_masked=entry.masked,
        timestamp=entry.timestamp,
    )


def _entries(
    session: DbSession, dag_id: str, run_id: str, task_id: str, map_index: int | None = None
) -> list[xcom_store.XComEntry]:
    """The XComs of a task's instance (of each of its instances when ``map_index`` is None)."""
    if map_index is not None:
        task_instance(session, dag_id, run_id, task_id, map_index)
    elif not instance_store.map_indexes(session, dag_id, run_id, task_id):
        task_instance(session, dag_id, run_id, task_id)  # says what is missing
    return xcom_store.list_xcoms(session, dag_id, run_id, task_id=task_id, map_index=map_index)


def _entry(
    session: DbSession, dag_id: str, run_id: str, task_id: str, key: str, *, map_index: int | None
) -> xcom_store.XComEntry:
    for entry in _entries(session, dag_id, run_id, task_id, map_index):
        if entry.key == key:
            return entry
    raise not_found(f"task {task_id!r} of DAG run {run_id!r} pushed no XCom {key!r}")


@router.get(BASE, response_model=XComList)
def list_xcom_entries(
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    web: Web,
    map_index: MapIndex = None,
) -> XComList:
    """The task instance's XComs by map index and key, with their JSON values (long ones cut);
    those of one instance of a mapped task with ``map_index``."""
    entries = _entries(session, dag_id, run_id, task_id, map_index)
    limit = display.limit_of(web.settings)
    shown = [_out(e, limit) for e in entries[page.offset : page.offset + page.limit]]
    return XComList(xcom_entries=shown, total_entries=len(entries))


@router.get(BASE + "/{xcom_key}", response_model=XComEntry)
def get_xcom_entry(
    dag_id: str,
    run_id: str,
    task_id: str,
    xcom_key: XComKey,
    *,
    session: DbSession,
    who: AsViewer,
    web: Web,
    map_index: MapIndex = None,
) -> XComEntry:
    """One XCom (a long value cut: GET .../value has it all)."""
    entry = _entry(session, dag_id, run_id, task_id, xcom_key, map_index=map_index)
    return _out(entry, display.limit_of(web.settings))


@router.get(
    BASE + "/{xcom_key}/value",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The whole value"}},
)
def download_xcom_value(
    dag_id: str,
    run_id: str,
    task_id: str,
    xcom_key: XComKey,
    *,
    session: DbSession,
    who: AsViewer,
    map_index: MapIndex = None,
) -> StreamingResponse:
    """The whole value of an XCom as a JSON file (masked as the entry is, if it is)."""
    entry = _entry(session, dag_id, run_id, task_id, xcom_key, map_index=map_index)
    return display.download_json(entry.value, f"{task_id}.{xcom_key}")
