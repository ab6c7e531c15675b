"""The grid's side panels: one run's details (with the asset events that triggered it, for an
asset-triggered run) and its actions (clear, mark, delete); one task instance's state, try and
times, with the way to its log."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api import display
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.models import NO_MAP_INDEX
from tradewind.metastore.store import assetreads, assetviews
from tradewind.metastore.store import deadlines as deadline_store
from tradewind.metastore.store import grid as grid_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.states import DagRunType
from tradewind.ui import mapped, structure
from tradewind.ui.pages import AsViewerPage, page_not_found, render, run_mark

router = APIRouter()


@router.get("/ui/dags/{dag_id}/runs/{run_id}/panel", response_class=HTMLResponse)
def run_panel(
    request: Request,
    dag_id: str,
    run_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
    web: Web,
) -> HTMLResponse:
    run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise page_not_found(f"DAG {dag_id!r} has no run {run_id!r}.")
    duration = (
        (run.end_date - run.start_date).total_seconds()
        if run.start_date is not None and run.end_date is not None
        else None
    )
    conf = display.of_json(run.conf or {}, display.limit_of(web.settings))
    events = (
        assetreads.run_events(session, dag_id, run_id)
        if run.run_type == DagRunType.ASSET_TRIGGERED
        else []
    )
    return render(
        request,
        "_run_panel.html",
        who,
        run=run,
        duration=duration,
        conf=conf.value if conf.truncated else json.dumps(run.conf, indent=2) if run.conf else "",
        conf_cut=conf,
        api_run=f"/api/v1/dags/{dag_id}/dagRuns/{run_id}",
        events=events,
        asset_ids=assetviews.ids_by_uri(session, {event.uri for event in events}),
        deadlines=deadline_store.of_run(session, run),
    )


@router.get("/ui/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/panel", response_class=HTMLResponse)
def task_panel(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
) -> HTMLResponse:
    """A task instance in the grid's side panel (a mapped task: its instances' summary)."""
    if grid_store.get_run(session, dag_id, run_id) is None:
        raise page_not_found(f"DAG {dag_id!r} has no run {run_id!r}.")
    ti = task_store.get_instance(session, dag_id, run_id, task_id, NO_MAP_INDEX)
    shape = structure.latest(session, dag_id)
    summary = mapped.run_states(session, dag_id, [run_id]).mapped.get(run_id, {}).get(task_id)
    return render(
        request,
        "_ti_panel.html",
        who,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        ti=ti,
        task=shape.dag.tasks.get(task_id) if shape is not None else None,
        mapped=summary,
        mark=run_mark(ti.state, ti.start_date, ti.end_date) if ti is not None else "",
    )
