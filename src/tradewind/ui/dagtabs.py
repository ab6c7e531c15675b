"""The DAG page's other tabs: Graph (SVG laid out here), Gantt, Code and Details."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tradewind.api.deps import DbSession
from tradewind.metastore.store import assetviews
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import grid as grid_store
from tradewind.ui import graph, highlight, mapped, structure, trigger
from tradewind.ui.dag import dag_context
from tradewind.ui.pages import AsViewerPage, render

router = APIRouter()

RUN_MENU = 25


def chosen_run(session: Session, dag_id: str, run: str) -> dict[str, Any]:
    """The run a tab shows (the latest unless ``run`` names one) and the menu of recent runs."""
    recent = grid_store.latest_runs(session, dag_id, RUN_MENU)
    found = grid_store.get_run(session, dag_id, run) if run else None
    if found is None and recent:
        found = recent[-1]
    menu = list(reversed(recent))
    if found is not None and all(r.run_id != found.run_id for r in menu):
        menu.insert(0, found)
    return {"run": found, "run_menu": menu}


@router.get("/dags/{dag_id}/graph", response_class=HTMLResponse)
def graph_page(
    request: Request,
    dag_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
    run: str = "",
    open: str = "",
) -> HTMLResponse:
    context = dag_context(session, dag_id, "graph")
    runs = chosen_run(session, dag_id, run)
    shape = structure.latest(session, dag_id)
    expanded = {g for g in open.split(",") if g}
    states: dict[str, str | None] = {}
    counts: dict[str, int] = {}
    if runs["run"] is not None:
        run_id = runs["run"].run_id
        states = mapped.run_states(session, dag_id, [run_id]).states.get(run_id, {})
        found = grid_store.mapped_state_counts(session, dag_id, [run_id]).get(run_id, {})
        counts = mapped.instance_counts(found)
    group_states = shape.group_states(states) if shape else {}
    drawn = graph.layout(shape, expanded) if shape else None

    def toggle(group_id: str) -> str:
        now = expanded ^ {group_id}
        params = []
        if runs["run"] is not None:
            params.append("run=" + quote(runs["run"].run_id, safe=""))
        if now:
            params.append("open=" + quote(",".join(sorted(now)), safe=","))
        return f"/dags/{quote(dag_id, safe='')}/graph" + ("?" + "&".join(params) if params else "")

    def state_of(node: graph.Node) -> str:
        if node.is_group:
            return group_states.get(node.group_id or node.key[len("group:") :], "none")
        return states.get(node.key) or "none"

    return render(
        request,
        "graph.html",
        who,
        **context,
        **runs,
        layout=drawn,
        toggle=toggle,
        state_of=state_of,
        badge_of=mapped.badges(shape, counts) if shape else {},
    )


@router.get("/dags/{dag_id}/code", response_class=HTMLResponse)
def code_page(
    request: Request, dag_id: str, *, session: DbSession, who: AsViewerPage
) -> HTMLResponse:
    context = dag_context(session, dag_id, "code")
    source = dag_store.get_code(session, context["dag"].fileloc)
    lines = highlight.python_lines(source) if source is not None else None
    return render(request, "code.html", who, **context, lines=lines)


@router.get("/dags/{dag_id}/details", response_class=HTMLResponse)
def details_page(
    request: Request, dag_id: str, *, session: DbSession, who: AsViewerPage
) -> HTMLResponse:
    context = dag_context(session, dag_id, "details")
    shape = structure.latest(session, dag_id)
    params = []
    if shape is not None:
        params = [param_row(name, spec) for name, spec in shape.dag.ordered_params.items()]
    outlets = assetviews.outlets_of(session, dag_id)
    return render(
        request, "details.html", who, **context, shape=shape, params=params, outlets=outlets
    )


# Schema keywords shown as a param's constraints, with their words.
CONSTRAINTS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "pattern": "matches",
    "format": "format",
}


def param_row(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A param as the details page shows it: type, default, description, allowed values and
    constraints in words."""
    field = trigger.field_of(name, spec)
    schema = spec.get("schema") or {}
    rules = []
    for key, words in CONSTRAINTS.items():
        if key in schema:
            value = schema[key]
            rules.append(words.format(value) if "{}" in words else f"{words} {value}")
    return {
        "name": name,
        "title": schema.get("title"),
        "kind": (field.kind if field.kind != "enum" else str(schema.get("type") or "value"))
        + (" or null" if field.nullable else ""),
        "default": json.dumps(spec.get("default")) if field.kind != "string" else field.value,
        "required": field.required,
        "description": field.description,
        "options": [json.loads(option) for option in field.options],
        "rules": rules,
    }
