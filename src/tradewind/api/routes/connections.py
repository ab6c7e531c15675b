"""/connections: how tasks reach external systems (op role or higher, reads included).

A password is never returned (``has_password`` says whether there is one) and secret-looking
fields of ``extra`` read ``***``, at any depth. Sending ``***`` back for such a field keeps its
stored value, so what a client read can be edited and sent back.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from tradewind.api import audit, conntest
from tradewind.api.deps import AsOp, DbSession, Paged, Web
from tradewind.api.errors import ApiError, bad_request, conflict, not_found
from tradewind.api.routes.fields import (
    UNREADABLE,
    Id,
    IdPath,
    Integral,
    RequestBody,
    Short,
    Text,
    conflict_doc,
    on_string,
    renamed,
    same_name,
)
from tradewind.metastore.store import connections as conn_store
from tradewind.metastore.store.connections import ConnectionsError

router = APIRouter(tags=["connections"])

Port = Annotated[int, Field(ge=1, le=65535), Integral]
ConnType = Annotated[Short, Field(min_length=1)]
# The outline of a JSON object as text (or nothing): "{" ... "}", JSON whitespace around.
JSON_OBJECT_TEXT = r"^(?:[ \t\n\r]*\{[\s\S]*\}[ \t\n\r]*)?$"


class ConnectionOut(BaseModel):
    connection_id: str
    conn_type: str
    description: str | None
    host: str | None
    login: str | None
    schema_: str | None = Field(serialization_alias="schema")
    port: int | None
    extra: str | None
    has_password: bool


class ConnectionList(BaseModel):
    connections: list[ConnectionOut]
    total_entries: int


class ConnectionPatch(RequestBody):
    connection_id: Id | None = Field(default=None, description="When given, the path's id.")
    # Absent keeps the type; null is refused (a connection always has one).
    conn_type: ConnType | SkipJsonSchema[None] = None
    description: Text | None = None
    host: Short | None = None
    login: Text | None = None
    schema_: Short | None = Field(None, alias="schema")
    port: Port | None = None
    password: Text | None = None
    extra: Text | None = Field(
        None,
        description="A JSON object, as text.",
        json_schema_extra=on_string(contentMediaType="application/json", pattern=JSON_OBJECT_TEXT),
    )


class ConnectionBody(ConnectionPatch):
    connection_id: Id
    conn_type: ConnType


class ConnectionTest(BaseModel):
    status: bool
    message: str


TEST_DISABLED = (
    "Testing connections is disabled: set core.test_connection to Enabled "
    "(TRADEWIND__CORE__TEST_CONNECTION=Enabled) to allow it."
)


def _out(conn: conn_store.Connection) -> ConnectionOut:
    shown = conn.masked()
    return ConnectionOut(
        connection_id=conn.conn_id,
        conn_type=conn.conn_type,
        description=conn.description,
        host=conn.host,
        login=conn.login,
        schema_=conn.schema,
        port=conn.port,
        extra=shown.extra,
        has_password=bool(conn.password),
    )


def _existing(session: DbSession, conn_id: str, web: Web) -> conn_store.Connection:
    found = conn_store.get_connection(session, conn_id, web.cipher)
    if found is None:
        raise not_found(f"no connection {conn_id!r}")
    return found


@router.get("/connections", response_model=ConnectionList, responses=conflict_doc(UNREADABLE))
def list_connections(*, session: DbSession, who: AsOp, web: Web, page: Paged) -> ConnectionList:
    found, total = conn_store.page_connections(
        session, web.cipher, limit=page.limit, offset=page.offset
    )
    # page_connections masks already: a masked password is "***" when there is one.
    return ConnectionList(connections=[_out(c) for c in found], total_entries=total)


@router.get(
    "/connections/{connection_id}",
    response_model=ConnectionOut,
    responses=conflict_doc(UNREADABLE),
)
def get_connection(
    connection_id: IdPath, *, session: DbSession, who: AsOp, web: Web
) -> ConnectionOut:
    return _out(_existing(session, connection_id, web))


@router.post(
    "/connections", response_model=ConnectionOut, responses=conflict_doc("Exists", UNREADABLE)
)
def create_connection(
    body: ConnectionBody, *, session: DbSession, who: AsOp, web: Web
) -> ConnectionOut:
    conn = conn_store.Connection(
        conn_id=body.connection_id,
        conn_type=body.conn_type,
        host=body.host,
        login=body.login,
        password=body.password,
        schema=body.schema_,
        port=body.port,
        extra=body.extra or None,
        description=body.description,
    )
    if conn_store.connection_exists(session, conn.conn_id):
        raise conflict(f"connection {conn.conn_id!r} exists already")
    try:
        conn_store.add_connection(session, conn, web.cipher)
    except ConnectionsError as exc:
        raise bad_request(str(exc)) from None
    audit.record(session, who, "connection.create", extra={"connection_id": conn.conn_id})
    session.commit()
    return _out(conn)


@router.post(
    "/connections/test",
    response_model=ConnectionTest,
    responses={403: {"description": "core.test_connection is not Enabled"}},
)
def test_connection(
    body: ConnectionBody, *, session: DbSession, who: AsOp, web: Web
) -> ConnectionTest:
    """Test the connection as the body gives it, without storing it. A body without a password
    (or with ``***`` for secret extra fields) takes the stored ones of the connection of that
    id. Refused (403) unless ``core.test_connection`` is Enabled."""
    if web.settings.core.test_connection != "Enabled":
        raise ApiError(403, TEST_DISABLED)
    stored = conn_store.get_connection(session, body.connection_id, web.cipher)
    password = body.password
    if password is None and stored is not None:
        password = stored.password
    extra = body.extra or None
    if stored is not None:
        extra = _keep_masked(stored, extra)
    conn = conn_store.Connection(
        conn_id=body.connection_id,
        conn_type=body.conn_type,
        host=body.host,
        login=body.login,
        password=password,
        schema=body.schema_,
        port=body.port,
        extra=extra,
    )
    ok, message = conntest.test(conn)
    audit.record(
        session, who, "connection.test", extra={"connection_id": conn.conn_id, "status": ok}
    )
    session.commit()
    return ConnectionTest(status=ok, message=message)


@router.patch(
    "/connections/{connection_id}",
    response_model=ConnectionOut,
    responses=conflict_doc(renamed("connection", "connection_id"), UNREADABLE),
)
def patch_connection(
    connection_id: IdPath, body: ConnectionPatch, *, session: DbSession, who: AsOp, web: Web
) -> ConnectionOut:
    """Change the fields the body has (``null`` clears a field); the others stay."""
    same_name("connection", "connection_id", body.connection_id, connection_id)
    current = _existing(session, connection_id, web)
    given = body.model_dump(exclude_unset=True, exclude={"connection_id"})
    if given.get("conn_type", "") is None:
        raise bad_request("conn_type cannot be null")
    changes: dict[str, Any] = {
        {"schema_": "schema"}.get(name, name): value for name, value in given.items()
    }
    if "extra" in changes:
        changes["extra"] = _keep_masked(current, changes["extra"] or None)
    updated = dataclasses.replace(current, **changes)
    try:
        conn_store.replace_connection(session, updated, web.cipher)
    except ConnectionsError as exc:
        raise bad_request(str(exc)) from None
    audit.record(
        session,
        who,
        "connection.edit",
        extra={"connection_id": connection_id, "fields": sorted(changes)},
    )
    session.commit()
    return _out(updated)


@router.delete("/connections/{connection_id}", status_code=204, response_class=Response)
def delete_connection(connection_id: IdPath, *, session: DbSession, who: AsOp) -> Response:
    if not conn_store.delete_connection(session, connection_id):
        raise not_found(f"no connection {connection_id!r}")
    audit.record(session, who, "connection.delete", extra={"connection_id": connection_id})
    session.commit()
    return Response(status_code=204)


def _keep_masked(current: conn_store.Connection, extra: str | None) -> str | None:
    """``extra`` with every ``***`` value of a secret-looking field (at any depth) put back as
    stored."""
    if not extra:
        return extra
    try:
        fields = json.loads(extra)
        before = current.extra_dejson
    except (ValueError, ConnectionsError):
        return extra  # checked (and refused if need be) when stored
    if not isinstance(fields, dict):
        return extra
    return json.dumps(conn_store.unmask_fields(fields, before))
