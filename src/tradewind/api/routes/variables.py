"""/variables: key/value settings for DAGs (op role or higher, reads included).

Values are the stored text, as ``tradewind variables get`` prints them. A list masks the
values of secret-looking keys; getting one variable shows its value. A value longer than
``webserver.display_value_kb`` is shown cut (``value_truncated``); ``/variables/{key}/value``
downloads all of it. A new value longer than ``core.max_variable_mb`` is refused (413).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from tradewind.api import audit, display
from tradewind.api.deps import AsOp, DbSession, Paged, Web
from tradewind.api.errors import bad_request, conflict, not_found
from tradewind.api.routes.fields import (
    UNREADABLE,
    Id,
    IdPath,
    RequestBody,
    Text,
    conflict_doc,
    renamed,
    same_name,
)
from tradewind.metastore import crypto
from tradewind.metastore.store import variables as variable_store

router = APIRouter(tags=["variables"])

MASK = "***"


class Variable(BaseModel):
    key: str
    value: str = Field(description="The value; when value_truncated, its start.")
    value_truncated: bool = Field(
        default=False, description="Cut to webserver.display_value_kb: GET .../value has it all."
    )
    value_size: int = Field(default=0, description="Bytes of the whole value (UTF-8).")
    description: str | None
    is_encrypted: bool


class VariableList(BaseModel):
    variables: list[Variable]
    total_entries: int


class VariableBody(RequestBody):
    key: Id
    value: Text
    description: Text | None = None


class VariablePatch(RequestBody):
    key: Id | None = Field(default=None, description="When given, the path's key.")
    value: Text | None = None
    description: Text | None = None


def _out(found: variable_store.VariableValue, web: Web, *, masked: bool = False) -> Variable:
    hide = masked and crypto.looks_secret(found.key)
    shown = display.of_text(MASK if hide else found.value, display.limit_of(web.settings))
    return Variable(
        key=found.key,
        value=shown.value,
        value_truncated=shown.truncated,
        value_size=shown.size,
        description=found.description,
        is_encrypted=found.is_encrypted,
    )


def _existing(session: DbSession, key: str, web: Web) -> variable_store.VariableValue:
    found = variable_store.get_variable_value(session, key, web.cipher)
    if found is None:
        raise not_found(f"no variable {key!r}")
    return found


@router.get("/variables", response_model=VariableList, responses=conflict_doc(UNREADABLE))
def list_variables(*, session: DbSession, who: AsOp, web: Web, page: Paged) -> VariableList:
    """Variables by key; values of secret-looking keys are masked."""
    found, total = variable_store.page_variables(
        session, web.cipher, limit=page.limit, offset=page.offset
    )
    shown = [_out(v, web, masked=True) for v in found]
    return VariableList(variables=shown, total_entries=total)


@router.get("/variables/{key}", response_model=Variable, responses=conflict_doc(UNREADABLE))
def get_variable(key: IdPath, *, session: DbSession, who: AsOp, web: Web) -> Variable:
    """A variable (a long value cut: GET .../value has it all)."""
    return _out(_existing(session, key, web), web)


@router.get(
    "/variables/{key}/value",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "The whole value"},
        **conflict_doc(UNREADABLE),
    },
)
def download_variable_value(
    key: IdPath, *, session: DbSession, who: AsOp, web: Web
) -> StreamingResponse:
    """The whole value of a variable as a text file."""
    return display.download_text(_existing(session, key, web).value, key)


@router.post("/variables", response_model=Variable, responses=conflict_doc("Exists", UNREADABLE))
def create_variable(body: VariableBody, *, session: DbSession, who: AsOp, web: Web) -> Variable:
    if variable_store.variable_exists(session, body.key):
        raise conflict(f"variable {body.key!r} exists already")
    _set(session, web, body.key, body.value, body.description)
    audit.record(session, who, "variable.create", extra={"key": body.key})
    session.commit()
    return _out(_existing(session, body.key, web), web)


@router.patch(
    "/variables/{key}",
    response_model=Variable,
    responses=conflict_doc(renamed("variable", "key"), UNREADABLE),
)
def patch_variable(
    key: IdPath, body: VariablePatch, *, session: DbSession, who: AsOp, web: Web
) -> Variable:
    """Change the value and/or the description of a variable."""
    same_name("variable", "key", body.key, key)
    current = _existing(session, key, web)
    value = current.value if body.value is None else body.value
    _set(session, web, key, value, body.description, new_value=body.value is not None)
    changed = sorted(body.model_dump(exclude_unset=True, exclude={"key"}))
    audit.record(session, who, "variable.edit", extra={"key": key, "fields": changed})
    session.commit()
    return _out(_existing(session, key, web), web)


@router.delete("/variables/{key}", status_code=204, response_class=Response)
def delete_variable(key: IdPath, *, session: DbSession, who: AsOp) -> Response:
    if not variable_store.delete_variable(session, key):
        raise not_found(f"no variable {key!r}")
    audit.record(session, who, "variable.delete", extra={"key": key})
    session.commit()
    return Response(status_code=204)


def _set(
    session: DbSession,
    web: Web,
    key: str,
    value: str,
    description: str | None,
    *,
    new_value: bool = True,
) -> None:
    """Store the variable; a new value must be within ``core.max_variable_mb`` (413)."""
    try:
        variable_store.set_variable(
            session,
            key,
            value,
            web.cipher,
            description=description,
            max_mb=web.settings.core.max_variable_mb if new_value else None,
        )
    except variable_store.VariableError as exc:
        raise bad_request(str(exc)) from None
