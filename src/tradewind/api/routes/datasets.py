"""/datasets: the asset routes under Airflow 2's names, answering with its field names
(``dataset_uri``, ``dataset_id``, ``consuming_dags``, ...), for clients written for Airflow 2.

A dataset is named by its URI in the path, URL-encoded (``s3%3A%2F%2Fbucket%2Fkey``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, field_validator

from tradewind.api.deps import AsOp, AsViewer, DbSession, Paged, Web
from tradewind.api.errors import not_found
from tradewind.api.routes import assetqueue
from tradewind.api.routes.assetparts import (
    NO_MAP_INDEX,
    UNKNOWN_ASSET,
    DagRunReference,
    Uri,
    dag_id_list,
    masked,
    record_event,
    run_ref,
    storable_extra,
    upstream_events,
)
from tradewind.api.routes.fields import MAX_INT, PATH_TEXT, RequestBody
from tradewind.api.routes.runs import existing_dag
from tradewind.metastore.models import ID_LENGTH
from tradewind.metastore.models.asset import URI_LENGTH
from tradewind.metastore.store import assetevents, assetlists

router = APIRouter(tags=["datasets"])

UriPath = Annotated[
    str,
    Path(min_length=1, max_length=URI_LENGTH, pattern=PATH_TEXT, description="URL-encoded."),
]
Filter = Annotated[str | None, Query(pattern=PATH_TEXT, max_length=ID_LENGTH)]
ORDER_DOC = "The field to order by; a leading - reverses the order."
DatasetOrder = Literal[
    "id", "-id", "uri", "-uri", "created_at", "-created_at", "updated_at", "-updated_at"
]
EventOrder = Literal[
    "id", "-id", "timestamp", "-timestamp", "source_dag_id", "-source_dag_id",
    "source_task_id", "-source_task_id", "source_run_id", "-source_run_id",
    "source_map_index", "-source_map_index",
]  # fmt: skip


class DagScheduleDatasetReference(BaseModel):
    dag_id: str
    created_at: datetime
    updated_at: datetime


class TaskOutletDatasetReference(BaseModel):
    dag_id: str
    task_id: str
    created_at: datetime
    updated_at: datetime


class DatasetAlias(BaseModel):
    id: int
    name: str


class Dataset(BaseModel):
    id: int
    uri: str
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    consuming_dags: list[DagScheduleDatasetReference]
    producing_tasks: list[TaskOutletDatasetReference]
    aliases: list[DatasetAlias]


class DatasetList(BaseModel):
    datasets: list[Dataset]
    total_entries: int


class DatasetEvent(BaseModel):
    dataset_id: int
    dataset_uri: str
    extra: dict[str, Any]
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_map_index: int
    created_dagruns: list[DagRunReference]
    timestamp: datetime


class DatasetEventList(BaseModel):
    dataset_events: list[DatasetEvent]
    total_entries: int


class DatasetQueuedEvent(BaseModel):
    uri: str
    dag_id: str
    created_at: datetime


class DatasetQueuedEventList(BaseModel):
    queued_events: list[DatasetQueuedEvent]
    total_entries: int


class CreateDatasetEvent(RequestBody):
    dataset_uri: Uri
    extra: dict[str, Any] | None = Field(
        default=None, description="What to attach to the event (a JSON object)."
    )

    @field_validator("extra")
    @classmethod
    def _storable(cls, extra: dict[str, Any] | None) -> dict[str, Any] | None:
        return storable_extra(extra)


def _dataset(entry: assetlists.AssetEntry) -> Dataset:
    return Dataset(
        id=entry.id,
        uri=entry.uri,
        extra=masked(entry.extra),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        consuming_dags=[
            DagScheduleDatasetReference(
                dag_id=ref.dag_id, created_at=ref.created_at, updated_at=ref.created_at
            )
            for ref in entry.scheduled_dags
        ],
        producing_tasks=[
            TaskOutletDatasetReference(
                dag_id=ref.dag_id,
                task_id=ref.task_id,
                created_at=ref.created_at,
                updated_at=ref.created_at,
            )
            for ref in entry.producing_tasks
        ],
        aliases=[DatasetAlias(id=alias.id, name=alias.name) for alias in entry.aliases],
    )


def _event(listed: assetevents.ListedEvent) -> DatasetEvent:
    entry = listed.entry
    return DatasetEvent(
        dataset_id=listed.asset_id,
        dataset_uri=entry.uri,
        extra=masked(entry.extra),
        source_dag_id=entry.source_dag_id,
        source_task_id=entry.source_task_id,
        source_run_id=entry.source_run_id,
        source_map_index=NO_MAP_INDEX if entry.source_map_index is None else entry.source_map_index,
        created_dagruns=[run_ref(run) for run in listed.created_dagruns],
        timestamp=entry.timestamp,
    )


def _queued(found: list[assetevents.QueuedEntry]) -> DatasetQueuedEventList:
    return DatasetQueuedEventList(
        queued_events=[
            DatasetQueuedEvent(uri=q.uri, dag_id=q.dag_id, created_at=q.created_at) for q in found
        ],
        total_entries=len(found),
    )


def _asset_id(session: DbSession, uri: str) -> int:
    found = assetlists.asset_id_of(session, uri)
    if found is None:
        raise not_found(f"no dataset with URI {uri!r}")
    return found


@router.get("/datasets", response_model=DatasetList)
def get_datasets(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    uri_pattern: Annotated[
        str | None, Query(pattern=PATH_TEXT, max_length=URI_LENGTH, description="Part of the URI.")
    ] = None,
    dag_ids: Annotated[
        str | None, Query(max_length=10_000, description="DAG ids separated by commas.")
    ] = None,
    order_by: Annotated[DatasetOrder, Query(description=ORDER_DOC)] = "id",
) -> DatasetList:
    """Datasets, each with the DAGs scheduled on it and the tasks that produce it."""
    where = assetlists.AssetFilter(uri_pattern=uri_pattern, dag_ids=dag_id_list([dag_ids or ""]))
    rows, total = assetlists.page_assets(
        session, where, order_by=order_by, limit=page.limit, offset=page.offset
    )
    return DatasetList(datasets=[_dataset(row) for row in rows], total_entries=total)


@router.get("/datasets/events", response_model=DatasetEventList)
def get_dataset_events(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    dataset_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    source_dag_id: Filter = None,
    source_task_id: Filter = None,
    source_run_id: Filter = None,
    source_map_index: Annotated[int | None, Query(ge=-1, le=MAX_INT)] = None,
    order_by: Annotated[EventOrder, Query(description=ORDER_DOC)] = "timestamp",
) -> DatasetEventList:
    """Dataset events matching every filter given, each with the runs it triggered."""
    where = assetevents.EventFilter(
        asset_id=dataset_id,
        source_dag_id=source_dag_id,
        source_task_id=source_task_id,
        source_run_id=source_run_id,
        source_map_index=source_map_index,
    )
    rows, total = assetevents.page_events(
        session, where, order_by=order_by, limit=page.limit, offset=page.offset
    )
    return DatasetEventList(dataset_events=[_event(row) for row in rows], total_entries=total)


@router.post("/datasets/events", response_model=DatasetEvent, responses=UNKNOWN_ASSET)
def create_dataset_event(
    body: CreateDatasetEvent, *, session: DbSession, who: AsOp, web: Web
) -> DatasetEvent:
    """Record that a dataset was updated by another system: the DAGs scheduled on it run."""
    return _event(record_event(session, who, web, body.extra, uri=body.dataset_uri).event)


@router.get("/datasets/queuedEvent/{uri:path}", response_model=DatasetQueuedEventList)
def get_dataset_queued_events(
    uri: UriPath, *, session: DbSession, who: AsViewer, before: assetqueue.Before = None
) -> DatasetQueuedEventList:
    """The DAGs that have events of this dataset queued, each with the newest one's time."""
    asset_id = _asset_id(session, uri)
    what = f"of dataset {uri!r}"
    return _queued(assetqueue.queued(session, what, asset_id=asset_id, before=before))


@router.delete("/datasets/queuedEvent/{uri:path}", status_code=204, response_class=Response)
def delete_dataset_queued_events(
    uri: UriPath, *, session: DbSession, who: AsOp, before: assetqueue.Before = None
) -> Response:
    """Take the dataset's events off every DAG's queue."""
    asset_id = _asset_id(session, uri)
    return assetqueue.drop(session, who, f"of dataset {uri!r}", asset_id=asset_id, before=before)


@router.get("/datasets/{uri:path}", response_model=Dataset)
def get_dataset(uri: UriPath, *, session: DbSession, who: AsViewer) -> Dataset:
    found = assetlists.get_asset(session, uri=uri)
    if found is None:
        raise not_found(f"no dataset with URI {uri!r}")
    return _dataset(found)


@router.get("/dags/{dag_id}/datasets/queuedEvent", response_model=DatasetQueuedEventList)
def get_dag_dataset_queued_events(
    dag_id: str, *, session: DbSession, who: AsViewer, before: assetqueue.Before = None
) -> DatasetQueuedEventList:
    """The datasets with events queued for the DAG, each with the newest one's time."""
    existing_dag(session, dag_id)
    return _queued(assetqueue.queued(session, f"for DAG {dag_id!r}", dag_id=dag_id, before=before))


@router.delete("/dags/{dag_id}/datasets/queuedEvent", status_code=204, response_class=Response)
def delete_dag_dataset_queued_events(
    dag_id: str, *, session: DbSession, who: AsOp, before: assetqueue.Before = None
) -> Response:
    """Empty the DAG's queue: it does not run for the events that were in it."""
    existing_dag(session, dag_id)
    return assetqueue.drop(session, who, f"for DAG {dag_id!r}", dag_id=dag_id, before=before)


@router.get("/dags/{dag_id}/datasets/queuedEvent/{uri:path}", response_model=DatasetQueuedEvent)
def get_dag_dataset_queued_event(
    dag_id: str,
    uri: UriPath,
    *,
    session: DbSession,
    who: AsViewer,
    before: assetqueue.Before = None,
) -> DatasetQueuedEvent:
    """The dataset's events queued for the DAG: when the newest was queued."""
    existing_dag(session, dag_id)
    asset_id = _asset_id(session, uri)
    what = f"of dataset {uri!r} for DAG {dag_id!r}"
    found = assetqueue.queued(session, what, dag_id=dag_id, asset_id=asset_id, before=before)
    return _queued(found).queued_events[0]


@router.delete(
    "/dags/{dag_id}/datasets/queuedEvent/{uri:path}", status_code=204, response_class=Response
)
def delete_dag_dataset_queued_event(
    dag_id: str, uri: UriPath, *, session: DbSession, who: AsOp, before: assetqueue.Before = None
) -> Response:
    """Take the dataset's events off the DAG's queue."""
    existing_dag(session, dag_id)
    asset_id = _asset_id(session, uri)
    what = f"of dataset {uri!r} for DAG {dag_id!r}"
    return assetqueue.drop(session, who, what, dag_id=dag_id, asset_id=asset_id, before=before)


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamDatasetEvents", response_model=DatasetEventList
)
def get_upstream_dataset_events(
    dag_id: str, dag_run_id: str, *, session: DbSession, who: AsViewer
) -> DatasetEventList:
    """The dataset events that triggered the run (none for a run not dataset-triggered)."""
    events = upstream_events(session, dag_id, dag_run_id)
    return DatasetEventList(dataset_events=[_event(e) for e in events], total_entries=len(events))
