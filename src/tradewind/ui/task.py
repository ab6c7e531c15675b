"""The task instance page: details, rendered templates, XComs and the log of each try
(followed live while the try runs), with clear and mark actions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api import display
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.store import grid as grid_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.ui import structure
from tradewind.ui.dag import dag_context
from tradewind.ui.pages import AsViewerPage, page_not_found, render

router = APIRouter()


@dataclass(frozen=True)
class ShownXCom:
    """An XCom as the page shows it: a long value cut, with a link to all of it."""

    key: str
    map_index: int
    text: str
    timestamp: datetime
    truncated: bool
    size: int
    masked: bool
    download: str


def _xcom(entry: xcom_store.XComEntry, limit: int, download: str) -> ShownXCom:
    shown = display.of_json(entry.value, limit)
    text = shown.value if shown.truncated else json.dumps(shown.value, indent=1, default=str)
    if entry.map_index >= 0:
        download += f"?map_index={entry.map_index}"
    return ShownXCom(
        entry.key,
        entry.map_index,
        text,
        entry.timestamp,
        shown.truncated,
        shown.size,
        entry.masked,
        download,
    )


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
    web: Web,
) -> HTMLResponse:
    context = dag_context(session, dag_id, "task")
    run = grid_store.get_run(session, dag_id, run_id)
    ti = task_store.get_instance(session, dag_id, run_id, task_id)
    if run is None or ti is None:
        raise page_not_found(f"There is no task {task_id!r} in run {run_id!r} of {dag_id!r}.")
    shape = structure.latest(session, dag_id)
    task = shape.dag.tasks.get(task_id) if shape is not None else None
    base = "/api/v1/dags/{}/dagRuns/{}".format(quote(dag_id, safe=""), quote(run_id, safe=""))
    api_ti = f"{base}/taskInstances/{quote(task_id, safe='')}"
    limit = display.limit_of(web.settings)
    xcoms = [
        _xcom(entry, limit, f"{api_ti}/xcomEntries/{quote(entry.key, safe='')}/value")
        for entry in xcom_store.list_xcoms(session, dag_id, run_id, task_id=task_id)
    ]
    return render(
        request,
        "task.html",
        who,
        **context,
        run=run,
        ti=ti,
        task=task,
        tries=grid_store.tries(session, dag_id, run_id, task_id),
        xcoms=xcoms,
        api_run=base,
        api_ti=api_ti,
        api_clear=f"/api/v1/dags/{quote(dag_id, safe='')}/clearTaskInstances",
        clear_body=json.dumps({"dag_run_id": run_id, "task_ids": [task_id]}),
    )
