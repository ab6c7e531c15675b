"""/variables/export and /variables/import: variables as one JSON file (op role or higher).

The file is Airflow's: a JSON object of key -> value. Export gives the values in clear, as
``tradewind variables export`` (and Airflow's export) does: only the lists mask secret-looking
values. A value that holds JSON is exported as that JSON, and a value that is not a string is
imported as JSON text, so an exported file imports back the same.

Import takes the file as the request's body (``Content-Type: application/json``), limited as
every request's is (``webserver.max_request_body_mb``). Each key is checked on
its own: the answer counts the variables created, updated and skipped, and says why each one
that failed did; a file that is not a JSON object is refused whole (400).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from tradewind import limits
from tradewind.api import audit, display, text
from tradewind.api.deps import AsOp, DbSession, Web
from tradewind.api.errors import ApiError, bad_request, not_found
from tradewind.api.routes.fields import UNREADABLE, Id, RequestBody, conflict_doc
from tradewind.metastore.store import variables as variable_store

router = APIRouter(tags=["variables"])

_KEY: TypeAdapter[str] = TypeAdapter(Id)
OnExisting = Literal["overwrite", "skip"]


class ExportBody(RequestBody):
    keys: list[Id] | None = Field(
        default=None, description="The variables to export (absent: all of them)."
    )


class ImportFailure(BaseModel):
    key: str
    error: str


class ImportReport(BaseModel):
    created: int
    updated: int
    skipped: int
    failed: int
    errors: list[ImportFailure]


@router.post(
    "/variables/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/json": {}}, "description": "variables.json"},
        **conflict_doc(UNREADABLE),
    },
)
def export_variables(
    *, session: DbSession, who: AsOp, web: Web, body: ExportBody | None = None
) -> StreamingResponse:
    """All the variables (or those of ``keys``) as a JSON file of key -> value, in clear."""
    every = variable_store.export_variables(session, web.cipher)
    chosen = every
    if body is not None and body.keys is not None:
        missing = sorted(set(body.keys) - set(every))
        if missing:
            raise not_found(f"no variable {', '.join(map(repr, missing))}")
        chosen = {key: every[key] for key in sorted(set(body.keys))}
    audit.record(session, who, "variable.export", extra={"count": len(chosen)})
    session.commit()
    return display.download_json(chosen, "variables")


@router.post(
    "/variables/import",
    response_model=ImportReport,
    responses={415: {"description": "The body is not sent as application/json"}},
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "required": True,
        }
    },
)
async def import_variables(
    request: Request,
    *,
    session: DbSession,
    who: AsOp,
    web: Web,
    action_if_exists: Annotated[
        OnExisting, Query(description="What to do with a key that exists already.")
    ] = "overwrite",
) -> ImportReport:
    """Create or update the variables of a JSON object of key -> value (the file, as the body);
    ``action_if_exists=skip`` leaves existing ones as they are."""
    data = _decoded(await _file_of(request))
    return await run_in_threadpool(_import, session, who, web, data, action_if_exists)


async def _file_of(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(
            415, "send the variables file as the request body, with Content-Type: application/json"
        )
    return await request.body()


def _decoded(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise bad_request("the variables file is empty: it must be a JSON object of key -> value")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("the variables file is not UTF-8 text") from None
    except ValueError as exc:
        raise bad_request(f"the variables file is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad_request(
            "the variables file must be a JSON object of key -> value, "
            f"not a JSON {type(data).__name__}"
        )
    return data


def _problem(key: str, value: Any, max_mb: float) -> str | None:
    """Why ``key`` cannot be set to ``value``, or None."""
    try:
        _KEY.validate_python(key)
    except ValidationError as exc:
        return "bad key: " + exc.errors()[0]["msg"]
    stored = variable_store.as_text(value)
    found = text.problem(stored)
    if found is not None:
        return f"the value {found}"
    try:
        limits.check_text("the value", stored, max_mb, "core.max_variable_mb")
    except limits.TooLarge as exc:
        return str(exc)
    return None


def _import(
    session: DbSession, who: AsOp, web: Web, data: dict[str, Any], on_existing: OnExisting
) -> ImportReport:
    failures = [
        ImportFailure(key=key, error=why)
        for key, value in data.items()
        if (why := _problem(key, value, web.settings.core.max_variable_mb)) is not None
    ]
    good = {key: value for key, value in data.items() if key not in {f.key for f in failures}}
    try:
        done = variable_store.import_variables(session, good, web.cipher, on_existing=on_existing)
    except variable_store.VariableError as exc:
        raise bad_request(str(exc)) from None
    audit.record(
        session,
        who,
        "variable.import",
        extra={"created": done.created, "updated": done.updated, "failed": len(failures)},
    )
    session.commit()
    return ImportReport(
        created=done.created,
        updated=done.updated,
        skipped=done.skipped,
        failed=len(failures),
        errors=failures,
    )
