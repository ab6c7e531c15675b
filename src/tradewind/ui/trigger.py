"""The trigger form: one field per DAG param (typed by its schema), a raw JSON conf, an
optional logical date and run id. The page posts to the REST API and shows its errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api.deps import DbSession
from tradewind.api.security import Role
from tradewind.ui import structure
from tradewind.ui.dag import dag_context
from tradewind.ui.pages import AsViewerPage, PageError, render

router = APIRouter()

KINDS = ("string", "integer", "number", "boolean", "array", "object")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # one of KINDS, or "enum"
    value: str  # the default as the input shows it
    checked: bool
    options: tuple[str, ...]
    required: bool
    description: str | None
    nullable: bool


def _kind(schema: Mapping[str, Any], default: Any) -> tuple[str, bool]:
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    nullable = "null" in types
    for kind in KINDS:
        if kind in types:
            return kind, nullable
    for kind, python in (
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("array", list),
        ("object", dict),
    ):
        if isinstance(default, python):
            return kind, nullable
    return "string", nullable


def field_of(name: str, spec: Mapping[str, Any]) -> Field:
    schema = spec.get("schema") or {}
    default = spec.get("default")
    has_default = bool(spec.get("has_default", True))
    kind, nullable = _kind(schema, default)
    options: tuple[str, ...] = ()
    if isinstance(schema.get("enum"), list):
        kind = "enum"
        options = tuple(json.dumps(option) for option in schema["enum"])
    if default is None:
        value = ""
    elif kind in ("array", "object") or kind == "enum":
        value = json.dumps(default, indent=1 if kind != "enum" else None)
    else:
        value = str(default)
    return Field(
        name=name,
        kind=kind,
        value=value,
        checked=default is True,
        options=options,
        required=not has_default,
        description=spec.get("description") or schema.get("description"),
        nullable=nullable,
    )


@router.get("/dags/{dag_id}/trigger", response_class=HTMLResponse)
def trigger_page(
    request: Request, dag_id: str, *, session: DbSession, who: AsViewerPage
) -> HTMLResponse:
    if not who.can(Role.USER):
        raise PageError(403, "Not allowed", "Triggering a DAG needs the user role or higher.")
    context = dag_context(session, dag_id, "trigger")
    shape = structure.latest(session, dag_id)
    params = shape.dag.ordered_params if shape is not None else {}
    fields = [field_of(name, spec) for name, spec in params.items()]
    return render(request, "trigger.html", who, **context, fields=fields)
