"""The run panel of the grid: one run's details (with the asset events that triggered it, for
an asset-triggered run) and its actions (clear, mark, delete)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api import display
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.store import assetreads, assetviews
from tradewind.metastore.store import runs as run_store
from tradewind.states import DagRunType
from tradewind.ui.pages import AsViewerPage, page_not_found, render

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
    )
