"""The task instance page: details, rendered templates, XComs and the log of each try
(followed live while the try runs), with clear and mark actions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.api import display
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.models import NO_MAP_INDEX, TaskInstance
from tradewind.metastore.store import deferrals as deferral_store
from tradewind.metastore.store import grid as grid_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.serialized import SerializedTask
from tradewind.ui import mapped, structure
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
    map_index: Annotated[int | None, Query(ge=-1, le=2_147_483_647)] = None,
) -> HTMLResponse:
    """A task instance's page; for a mapped task without ``map_index``, the list of its
    instances (each links to its own page)."""
    context = dag_context(session, dag_id, "task")
    run = grid_store.get_run(session, dag_id, run_id)
    ti = task_store.get_instance(
        session, dag_id, run_id, task_id, NO_MAP_INDEX if map_index is None else map_index
    )
    shape = structure.latest(session, dag_id)
    task = shape.dag.tasks.get(task_id) if shape is not None else None
    base = "/api/v1/dags/{}/dagRuns/{}".format(quote(dag_id, safe=""), quote(run_id, safe=""))
    api_ti = f"{base}/taskInstances/{quote(task_id, safe='')}"
    if run is not None and ti is None and map_index is None:
        instances = grid_store.mapped_instances(session, dag_id, run_id, task_id)
        if instances:
            return _instance_list(
                request, who, context, run=run, task=task, instances=instances, api_ti=api_ti
            )
    if run is None or ti is None:
        which = f" [{map_index}]" if map_index is not None and map_index >= 0 else ""
        raise page_not_found(
            f"There is no task {task_id!r}{which} in run {run_id!r} of {dag_id!r}."
        )
    one = ti.map_index >= 0
    suffix = f"?map_index={ti.map_index}" if one else ""
    xcoms = _xcoms_of(session, ti, display.limit_of(web.settings), api_ti)
    selector: str | list[object] = [task_id, ti.map_index] if one else task_id
    return render(
        request,
        "task.html",
        who,
        **context,
        run=run,
        ti=ti,
        task=task,
        tries=grid_store.tries(session, dag_id, run_id, task_id, ti.map_index),
        trigger=deferral_store.trigger_of(session, ti.trigger_id),
        xcoms=xcoms,
        api_run=base,
        api_ti=api_ti,
        api_one=f"{api_ti}/{ti.map_index}" if one else api_ti,
        api_query=suffix,
        api_clear=_clear_path(dag_id),
        clear_body=json.dumps({"dag_run_id": run_id, "task_ids": [selector]}),
    )


def _xcoms_of(session: DbSession, ti: TaskInstance, limit: int, api_ti: str) -> list[ShownXCom]:
    """The XComs the instance pushed, as the page shows them (long values cut, downloadable)."""
    return [
        _xcom(entry, limit, f"{api_ti}/xcomEntries/{quote(entry.key, safe='')}/value")
        for entry in xcom_store.list_xcoms(
            session, ti.dag_id, ti.run_id, task_id=ti.task_id, map_index=ti.map_index
        )
    ]


def _clear_path(dag_id: str) -> str:
    return f"/api/v1/dags/{quote(dag_id, safe='')}/clearTaskInstances"


def _instance_list(
    request: Request,
    who: AsViewerPage,
    context: dict[str, Any],
    *,
    run: grid_store.GridRun,
    task: SerializedTask | None,
    instances: list[TaskInstance],
    api_ti: str,
) -> HTMLResponse:
    """The page of a mapped task in a run: its instances, and clear / mark for all of them."""
    counts: dict[str | None, int] = {}
    for ti in instances:
        counts[ti.state] = counts.get(ti.state, 0) + 1
    task_id = instances[0].task_id
    return render(
        request,
        "mapped_task.html",
        who,
        **context,
        run=run,
        task_id=task_id,
        task=task,
        instances=instances,
        summary=mapped.describe(counts),
        summary_state=mapped.state_of(counts),
        api_ti=api_ti,
        api_clear=_clear_path(instances[0].dag_id),
        clear_body=json.dumps({"dag_run_id": run.run_id, "task_ids": [task_id]}),
    )
