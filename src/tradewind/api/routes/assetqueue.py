"""Queued asset events, with Airflow 3's names: the events that consumer DAGs have not run for
yet, per DAG and asset (viewer role to read; op role to take them off the queue, after which
the DAG does not run for them).

As in Airflow, a queue with nothing in it is a 404, and so is deleting from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime

from tradewind.api import audit
from tradewind.api.deps import AsOp, AsViewer, DbSession
from tradewind.api.errors import not_found
from tradewind.api.routes.assetparts import QueuedEvent, QueuedEventList, queued_out
from tradewind.api.routes.fields import MAX_INT, Rfc3339, utc
from tradewind.api.routes.runs import existing_dag
from tradewind.api.security import Principal
from tradewind.metastore.store import assetevents, assetlists

router = APIRouter(tags=["assets"])

AssetIdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="The asset's id.")]
Before = Annotated[
    AwareDatetime | None,
    Rfc3339,
    Query(description="Only events queued before this time (RFC 3339, with a time zone)."),
]


def existing_asset(session: DbSession, asset_id: int) -> None:
    if not assetlists.has_asset(session, asset_id):
        raise not_found(f"no asset {asset_id}")


def queued(
    session: DbSession,
    what: str,
    *,
    dag_id: str | None = None,
    asset_id: int | None = None,
    before: datetime | None = None,
) -> list[assetevents.QueuedEntry]:
    """The queue of a DAG and/or asset (404 when nothing is queued; ``what`` names it)."""
    found = assetevents.queued_events(session, dag_id=dag_id, asset_id=asset_id, before=utc(before))
    if not found:
        raise not_found(f"no events are queued {what}")
    return found


def drop(
    session: DbSession,
    who: Principal,
    what: str,
    *,
    dag_id: str | None = None,
    asset_id: int | None = None,
    before: datetime | None = None,
) -> Response:
    """Take a DAG's and/or asset's queued events off the queue (404 when there are none)."""
    count = assetevents.delete_queued(session, dag_id=dag_id, asset_id=asset_id, before=utc(before))
    if not count:
        raise not_found(f"no events are queued {what}")
    audit.record(
        session,
        who,
        "asset_queue.delete",
        dag_id=dag_id,
        extra={
            "asset_id": asset_id,
            "before": before.isoformat() if before else None,
            "count": count,
        },
    )
    session.commit()
    return Response(status_code=204)


def _listed(found: list[assetevents.QueuedEntry]) -> QueuedEventList:
    return QueuedEventList(queued_events=[queued_out(q) for q in found], total_entries=len(found))


@router.get("/assets/{asset_id}/queuedEvents", response_model=QueuedEventList)
def get_asset_queued_events(
    asset_id: AssetIdPath, *, session: DbSession, who: AsViewer, before: Before = None
) -> QueuedEventList:
    """The DAGs that have events of this asset queued, each with the newest one's time."""
    existing_asset(session, asset_id)
    return _listed(queued(session, f"of asset {asset_id}", asset_id=asset_id, before=before))


@router.delete("/assets/{asset_id}/queuedEvents", status_code=204, response_class=Response)
def delete_asset_queued_events(
    asset_id: AssetIdPath, *, session: DbSession, who: AsOp, before: Before = None
) -> Response:
    """Take the asset's events off every DAG's queue."""
    existing_asset(session, asset_id)
    return drop(session, who, f"of asset {asset_id}", asset_id=asset_id, before=before)


@router.get("/dags/{dag_id}/assets/queuedEvents", response_model=QueuedEventList)
def get_dag_asset_queued_events(
    dag_id: str, *, session: DbSession, who: AsViewer, before: Before = None
) -> QueuedEventList:
    """The assets with events queued for the DAG, each with the newest one's time."""
    existing_dag(session, dag_id)
    return _listed(queued(session, f"for DAG {dag_id!r}", dag_id=dag_id, before=before))


@router.delete("/dags/{dag_id}/assets/queuedEvents", status_code=204, response_class=Response)
def delete_dag_asset_queued_events(
    dag_id: str, *, session: DbSession, who: AsOp, before: Before = None
) -> Response:
    """Empty the DAG's queue: it does not run for the events that were in it."""
    existing_dag(session, dag_id)
    return drop(session, who, f"for DAG {dag_id!r}", dag_id=dag_id, before=before)


@router.get("/dags/{dag_id}/assets/{asset_id}/queuedEvents", response_model=QueuedEvent)
def get_dag_asset_queued_event(
    dag_id: str, asset_id: AssetIdPath, *, session: DbSession, who: AsViewer, before: Before = None
) -> QueuedEvent:
    """The asset's events queued for the DAG: when the newest was queued."""
    existing_dag(session, dag_id)
    existing_asset(session, asset_id)
    what = f"of asset {asset_id} for DAG {dag_id!r}"
    return queued_out(queued(session, what, dag_id=dag_id, asset_id=asset_id, before=before)[0])


@router.delete(
    "/dags/{dag_id}/assets/{asset_id}/queuedEvents", status_code=204, response_class=Response
)
def delete_dag_asset_queued_event(
    dag_id: str, asset_id: AssetIdPath, *, session: DbSession, who: AsOp, before: Before = None
) -> Response:
    """Take the asset's events off the DAG's queue."""
    existing_dag(session, dag_id)
    existing_asset(session, asset_id)
    what = f"of asset {asset_id} for DAG {dag_id!r}"
    return drop(session, who, what, dag_id=dag_id, asset_id=asset_id, before=before)
