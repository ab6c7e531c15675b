"""The run panel of the grid: one run's details and its actions (clear, mark, delete)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api.deps import DbSession
from tradewind.metastore.store import runs as run_store
from tradewind.ui.pages import AsViewerPage, page_not_found, render

router = APIRouter()


@router.get("/ui/dags/{dag_id}/runs/{run_id}/panel", response_class=HTMLResponse)
def run_panel(
    request: Request, dag_id: str, run_id: str, *, session: DbSession, who: AsViewerPage
) -> HTMLResponse:
    run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise page_not_found(f"DAG {dag_id!r} has no run {run_id!r}.")
    duration = (
        (run.end_date - run.start_date).total_seconds()
        if run.start_date is not None and run.end_date is not None
        else None
    )
    return render(
        request,
        "_run_panel.html",
        who,
        run=run,
        duration=duration,
        conf=json.dumps(run.conf, indent=2) if run.conf else "",
        api_run=f"/api/v1/dags/{dag_id}/dagRuns/{run_id}",
    )
