"""/pools: named limits on how many tries run at once (op role or higher, reads included)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from tradewind.api import audit
from tradewind.api.deps import AsOp, DbSession, Paged
from tradewind.api.errors import conflict, not_found
from tradewind.api.routes.fields import (
    MAX_INT,
    PATH_TEXT,
    Integral,
    PoolName,
    RequestBody,
    Text,
    conflict_doc,
    renamed,
    same_name,
)
from tradewind.metastore.models import DEFAULT_POOL
from tradewind.metastore.models import Pool as PoolRow
from tradewind.metastore.store import pools as pool_store

router = APIRouter(tags=["pools"])

Slots = Annotated[int, Field(ge=0, le=MAX_INT), Integral]
NamePath = Annotated[str, Path(pattern=PATH_TEXT, max_length=256)]


class Pool(BaseModel):
    name: str
    slots: int
    description: str | None
    occupied_slots: int
    running_slots: int
    queued_slots: int
    deferred_slots: int
    open_slots: int
    include_deferred: bool = Field(description="Whether deferred tries take this pool's slots.")


class PoolList(BaseModel):
    pools: list[Pool]
    total_entries: int


class PoolBody(RequestBody):
    name: PoolName
    slots: Slots
    description: Text | None = None
    include_deferred: bool = False


class PoolPatch(RequestBody):
    name: PoolName | None = Field(default=None, description="When given, the path's name.")
    slots: Slots | None = None
    description: Text | None = None
    include_deferred: bool | None = None


def _out(row: PoolRow, usage: dict[str, dict[str, int]]) -> Pool:
    taken = usage.get(row.pool, {})
    running, queued = taken.get("running", 0), taken.get("queued", 0)
    deferred = taken.get("deferred", 0)
    occupied = running + queued + (deferred if row.include_deferred else 0)
    return Pool(
        name=row.pool,
        slots=row.slots,
        description=row.description,
        occupied_slots=occupied,
        running_slots=running,
        queued_slots=queued,
        deferred_slots=deferred,
        open_slots=max(0, row.slots - occupied),
        include_deferred=row.include_deferred,
    )


def _existing(session: DbSession, name: str) -> PoolRow:
    row = pool_store.get_pool(session, name)
    if row is None:
        raise not_found(f"no pool {name!r}")
    return row


@router.get("/pools", response_model=PoolList)
def list_pools(*, session: DbSession, who: AsOp, page: Paged) -> PoolList:
    rows = pool_store.list_pools(session)
    usage = pool_store.usage(session)
    shown = rows[page.offset : page.offset + page.limit]
    return PoolList(pools=[_out(row, usage) for row in shown], total_entries=len(rows))


@router.get("/pools/{name}", response_model=Pool)
def get_pool(name: NamePath, *, session: DbSession, who: AsOp) -> Pool:
    return _out(_existing(session, name), pool_store.usage(session))


@router.post("/pools", response_model=Pool, responses=conflict_doc("Exists"))
def create_pool(body: PoolBody, *, session: DbSession, who: AsOp) -> Pool:
    if pool_store.get_pool(session, body.name) is not None:
        raise conflict(f"pool {body.name!r} exists already")
    pool_store.set_pool(
        session, body.name, body.slots, body.description, include_deferred=body.include_deferred
    )
    audit.record(session, who, "pool.create", extra={"pool": body.name, "slots": body.slots})
    session.commit()
    return get_pool(body.name, session=session, who=who)


@router.patch("/pools/{name}", response_model=Pool, responses=conflict_doc(renamed("pool", "name")))
def patch_pool(name: NamePath, body: PoolPatch, *, session: DbSession, who: AsOp) -> Pool:
    """Change the slots, the description or include_deferred of a pool."""
    same_name("pool", "name", body.name, name)
    row = _existing(session, name)
    slots = row.slots if body.slots is None else body.slots
    pool_store.set_pool(
        session, name, slots, body.description, include_deferred=body.include_deferred
    )
    changed = sorted(body.model_dump(exclude_unset=True, exclude={"name"}))
    audit.record(session, who, "pool.edit", extra={"pool": name, "fields": changed})
    session.commit()
    return get_pool(name, session=session, who=who)


@router.delete(
    "/pools/{name}",
    status_code=204,
    response_class=Response,
    responses=conflict_doc(f"{DEFAULT_POOL} cannot be deleted"),
)
def delete_pool(name: NamePath, *, session: DbSession, who: AsOp) -> Response:
    if name == DEFAULT_POOL:
        raise conflict(f"{DEFAULT_POOL} cannot be deleted")
    if not pool_store.delete_pool(session, name):
        raise not_found(f"no pool {name!r}")
    audit.record(session, who, "pool.delete", extra={"pool": name})
    session.commit()
    return Response(status_code=204)
