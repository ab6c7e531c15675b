"""/dags: list with filters and pages, get one, pause or unpause."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from tradewind.api import audit
from tradewind.api.deps import AsUser, AsViewer, DbSession, Paged
from tradewind.api.errors import not_found
from tradewind.api.routes.fields import QueryBool, RequestBody
from tradewind.metastore.models import DagModel
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import listing

router = APIRouter(tags=["dags"])


class Dag(BaseModel):
    dag_id: str
    description: str | None
    fileloc: str
    owners: list[str]
    tags: list[str]
    is_paused: bool
    is_active: bool
    has_import_errors: bool
    schedule: str | None
    timezone: str
    max_active_runs: int
    max_active_tasks: int
    last_parsed_at: datetime
    next_dagrun: datetime | None
    next_dagrun_data_interval_start: datetime | None
    next_dagrun_data_interval_end: datetime | None


class DagList(BaseModel):
    dags: list[Dag]
    total_entries: int


class DagPatch(RequestBody):
    is_paused: bool


def dag_out(row: DagModel, tags: list[str]) -> Dag:
    return Dag(
        dag_id=row.dag_id,
        description=row.description,
        fileloc=row.fileloc,
        owners=[o for o in (row.owners or "").split(",") if o],
        tags=tags,
        is_paused=row.is_paused,
        is_active=row.is_active,
        has_import_errors=row.has_import_errors,
        schedule=row.schedule_description,
        timezone=row.timezone,
        max_active_runs=row.max_active_runs,
        max_active_tasks=row.max_active_tasks,
        last_parsed_at=row.last_parsed_at,
        next_dagrun=row.next_dagrun,
        next_dagrun_data_interval_start=row.next_dagrun_data_interval_start,
        next_dagrun_data_interval_end=row.next_dagrun_data_interval_end,
    )


def existing_dag(session: DbSession, dag_id: str) -> DagModel:
    row = dag_store.get_dag(session, dag_id)
    if row is None:
        raise not_found(f"no DAG {dag_id!r}")
    return row


@router.get("/dags", response_model=DagList)
def list_dags(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    tags: Annotated[
        list[str] | None, Query(description="Only DAGs with any of these tags.")
    ] = None,
    dag_id_pattern: Annotated[
        str | None, Query(max_length=250, description="Only DAG ids containing this text.")
    ] = None,
    paused: Annotated[
        bool | None, QueryBool, Query(description="Only paused (true) or active (false).")
    ] = None,
    only_active: Annotated[
        bool, QueryBool, Query(description="Hide DAGs whose file is gone.")
    ] = True,
) -> DagList:
    found = listing.page_dags(
        session,
        listing.DagFilter(
            tags=tags or (),
            dag_id_contains=dag_id_pattern,
            paused=paused,
            include_inactive=not only_active,
        ),
        limit=page.limit,
        offset=page.offset,
    )
    return DagList(
        dags=[dag_out(row, found.tags.get(row.dag_id, [])) for row in found.dags],
        total_entries=found.total,
    )


@router.get("/dags/{dag_id}", response_model=Dag)
def get_dag(dag_id: str, session: DbSession, who: AsViewer) -> Dag:
    row = existing_dag(session, dag_id)
    return dag_out(row, listing.tags_of(session, [dag_id]).get(dag_id, []))


@router.patch("/dags/{dag_id}", response_model=Dag)
def patch_dag(dag_id: str, change: DagPatch, session: DbSession, who: AsUser) -> Dag:
    """Pause or unpause a DAG."""
    row = existing_dag(session, dag_id)
    dag_store.set_paused(session, dag_id, change.is_paused)
    audit.record(session, who, "pause" if change.is_paused else "unpause", dag_id=dag_id)
    session.commit()
    session.refresh(row)
    return dag_out(row, listing.tags_of(session, [dag_id]).get(dag_id, []))
