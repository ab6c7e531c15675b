"""/assets: what tasks produce and DAGs are scheduled on, their aliases and events, with
Airflow 3's names (viewer role to read; op role to post an event from another system).

This router also serves the queue of events that consumer DAGs have not run for yet
(:mod:`.assetqueue`) and Airflow 2's names for all of it (:mod:`.datasets`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from tradewind.api.deps import AsOp, AsViewer, DbSession, Paged, Web
from tradewind.api.errors import not_found
from tradewind.api.routes import assetqueue, datasets
from tradewind.api.routes.assetparts import (
    UNKNOWN_ASSET,
    Asset,
    AssetAlias,
    AssetAliasList,
    AssetEvent,
    AssetEventList,
    AssetList,
    Uri,
    alias_out,
    asset_out,
    dag_id_list,
    event_out,
    record_event,
    storable_extra,
    upstream_events,
)
from tradewind.api.routes.fields import (
    MAX_INT,
    PATH_TEXT,
    Integral,
    RequestBody,
    Rfc3339,
    utc,
)
from tradewind.metastore.models import ID_LENGTH
from tradewind.metastore.models.asset import URI_LENGTH
from tradewind.metastore.store import assetevents, assetlists

router = APIRouter(tags=["assets"])

AssetIdPath = Annotated[int, Path(ge=1, le=MAX_INT, description="The asset's id.")]
Pattern = Annotated[
    str | None,
    Query(pattern=PATH_TEXT, max_length=URI_LENGTH, description="Only those holding this text."),
]
Filter = Annotated[str | None, Query(pattern=PATH_TEXT, max_length=ID_LENGTH)]
When = Annotated[
    AwareDatetime | None, Rfc3339, Query(description="RFC 3339, with a time zone; inclusive.")
]
DagIds = Annotated[
    list[Annotated[str, Query(max_length=ID_LENGTH)]] | None,
    Query(description="Only assets these DAGs use (a list, or ids separated by commas)."),
]
AssetOrder = Literal[
    "id", "-id", "name", "-name", "uri", "-uri", "group", "-group",
    "created_at", "-created_at", "updated_at", "-updated_at",
]  # fmt: skip
EventOrder = Literal[
    "id", "-id", "asset_id", "-asset_id", "timestamp", "-timestamp",
    "source_dag_id", "-source_dag_id", "source_task_id", "-source_task_id",
    "source_run_id", "-source_run_id", "source_map_index", "-source_map_index",
]  # fmt: skip
AliasOrder = Literal["id", "-id", "name", "-name", "group", "-group"]
ORDER_DOC = "The field to order by; a leading - reverses the order."


class CreateAssetEvent(RequestBody):
    """An update of an asset from another system; the asset named by ``asset_id`` or by
    ``uri`` (one of them)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["asset_id"]}, {"required": ["uri"]}]}
    )

    asset_id: Annotated[int, Field(ge=1, le=MAX_INT), Integral] | SkipJsonSchema[None] = None
    uri: Uri | SkipJsonSchema[None] = None
    extra: dict[str, Any] | None = Field(
        default=None, description="What to attach to the event (a JSON object)."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_asset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            named = [key for key in ("asset_id", "uri") if key in data]
            if len(named) != 1:
                raise ValueError("name the asset by asset_id or by uri (one of them)")
            if data[named[0]] is None:
                raise ValueError(f"{named[0]} cannot be null")
        return data

    @field_validator("extra")
    @classmethod
    def _storable(cls, extra: dict[str, Any] | None) -> dict[str, Any] | None:
        return storable_extra(extra)


@router.get("/assets", response_model=AssetList)
def get_assets(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    uri_pattern: Pattern = None,
    name_pattern: Pattern = None,
    dag_ids: DagIds = None,
    order_by: Annotated[AssetOrder, Query(description=ORDER_DOC)] = "id",
) -> AssetList:
    """Assets, each with the DAGs scheduled on it and the tasks that produce and read it."""
    where = assetlists.AssetFilter(
        uri_pattern=uri_pattern, name_pattern=name_pattern, dag_ids=dag_id_list(dag_ids)
    )
    rows, total = assetlists.page_assets(
        session, where, order_by=order_by, limit=page.limit, offset=page.offset
    )
    return AssetList(assets=[asset_out(row) for row in rows], total_entries=total)


@router.get("/assets/aliases", response_model=AssetAliasList)
def get_asset_aliases(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    name_pattern: Pattern = None,
    order_by: Annotated[AliasOrder, Query(description=ORDER_DOC)] = "id",
) -> AssetAliasList:
    """Asset aliases: names under which tasks say at run time which assets they updated."""
    rows, total = assetlists.page_aliases(
        session, name_pattern=name_pattern, order_by=order_by, limit=page.limit, offset=page.offset
    )
    return AssetAliasList(asset_aliases=[alias_out(row) for row in rows], total_entries=total)


@router.get("/assets/aliases/{asset_alias_id}", response_model=AssetAlias)
def get_asset_alias(
    asset_alias_id: Annotated[int, Path(ge=1, le=MAX_INT)], *, session: DbSession, who: AsViewer
) -> AssetAlias:
    found = assetlists.get_alias(session, asset_alias_id)
    if found is None:
        raise not_found(f"no asset alias {asset_alias_id}")
    return alias_out(found)


@router.get("/assets/events", response_model=AssetEventList)
def get_asset_events(
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    asset_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    uri: Annotated[str | None, Query(pattern=PATH_TEXT, max_length=URI_LENGTH)] = None,
    source_dag_id: Filter = None,
    source_task_id: Filter = None,
    source_run_id: Filter = None,
    source_map_index: Annotated[int | None, Query(ge=-1, le=MAX_INT)] = None,
    timestamp_gte: When = None,
    timestamp_lte: When = None,
    order_by: Annotated[EventOrder, Query(description=ORDER_DOC)] = "timestamp",
) -> AssetEventList:
    """Asset events matching every filter given, each with the runs it triggered."""
    where = assetevents.EventFilter(
        asset_id=asset_id,
        uri=uri,
        source_dag_id=source_dag_id,
        source_task_id=source_task_id,
        source_run_id=source_run_id,
        source_map_index=source_map_index,
        timestamp_gte=utc(timestamp_gte),
        timestamp_lte=utc(timestamp_lte),
    )
    rows, total = assetevents.page_events(
        session, where, order_by=order_by, limit=page.limit, offset=page.offset
    )
    return AssetEventList(asset_events=[event_out(row) for row in rows], total_entries=total)


@router.post("/assets/events", response_model=AssetEvent, responses=UNKNOWN_ASSET)
def create_asset_event(
    body: CreateAssetEvent, *, session: DbSession, who: AsOp, web: Web
) -> AssetEvent:
    """Record that an asset (by ``asset_id`` or ``uri``) was updated by another system: the
    DAGs scheduled on it run as they would for a task's update."""
    recorded = record_event(session, who, web, body.extra, asset_id=body.asset_id, uri=body.uri)
    return event_out(recorded.event)


@router.get("/assets/{asset_id}", response_model=Asset)
def get_asset(asset_id: AssetIdPath, *, session: DbSession, who: AsViewer) -> Asset:
    found = assetlists.get_asset(session, asset_id=asset_id)
    if found is None:
        raise not_found(f"no asset {asset_id}")
    return asset_out(found)


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents", response_model=AssetEventList
)
def get_upstream_asset_events(
    dag_id: str, dag_run_id: str, *, session: DbSession, who: AsViewer
) -> AssetEventList:
    """The asset events that triggered the run (none for a run not asset-triggered)."""
    events = upstream_events(session, dag_id, dag_run_id)
    return AssetEventList(asset_events=[event_out(e) for e in events], total_entries=len(events))


router.include_router(assetqueue.router)
router.include_router(datasets.router)
