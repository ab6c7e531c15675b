"""Browse pages across every DAG: DAG runs, task instances, XComs and jobs.

Each is a table of one page of rows (newest first by its main date; see
:mod:`tradewind.metastore.store.browsing`) with filters, a search box and page links. Users who
may change runs (the user role and up) select rows and clear them, mark them or delete them;
those actions call the REST API from ``static/browse.js``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api import display
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.store import browsing
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import triggers as trigger_store
from tradewind.metastore.types import utcnow
from tradewind.states import DagRunState, DagRunType
from tradewind.ui import browsequery
from tradewind.ui.pages import STATES, AsViewerPage, render

router = APIRouter()

RUN_STATES = tuple(s.value for s in DagRunState)
RUN_TYPES = tuple(t.value for t in DagRunType)
JOB_STATES = (job_store.RUNNING, job_store.FINISHED)
# Bytes of an XCom's JSON text shown in the table (all of it, up to
# webserver.display_value_kb, when the row is opened).
CELL_BYTES = 120


def _context(browse: browsequery.Browse, listing: browsing.Listing[Any]) -> dict[str, Any]:
    return {
        "rows": listing.rows,
        "browse": browse,
        "pager": browsequery.pager(browse, listing),
    }


@router.get("/browse/dag-runs", response_class=HTMLResponse)
def runs_page(request: Request, session: DbSession, who: AsViewerPage) -> HTMLResponse:
    browse = browsequery.read(
        request.url.path,
        request.query_params,
        texts=("dag_id",),
        choices={"state": RUN_STATES, "run_type": RUN_TYPES},
    )
    where = browsing.RunFilter(
        dag_id=browse.value("dag_id"),
        states=[browse.given["state"]] if browse.given["state"] else (),
        run_type=browse.value("run_type"),
        search=browse.value("q"),
    )
    listing = browsing.runs(session, where, browse.window)
    return render(
        request,
        "browse_runs.html",
        who,
        **_context(browse, listing),
        run_states=RUN_STATES,
        run_types=RUN_TYPES,
        durations={r.id: _span(r.start_date, r.end_date) for r in listing.rows},
    )


@router.get("/browse/task-instances", response_class=HTMLResponse)
def instances_page(request: Request, session: DbSession, who: AsViewerPage) -> HTMLResponse:
    browse = browsequery.read(
        request.url.path,
        request.query_params,
        texts=("dag_id", "run_id", "task_id"),
        choices={"state": STATES},
    )
    where = browsing.InstanceFilter(
        dag_id=browse.value("dag_id"),
        run_id=browse.value("run_id"),
        task_id=browse.value("task_id"),
        states=[browse.given["state"]] if browse.given["state"] else (),
        search=browse.value("q"),
    )
    listing = browsing.instances(session, where, browse.window)
    return render(request, "browse_instances.html", who, **_context(browse, listing))


@router.get("/browse/xcoms", response_class=HTMLResponse)
def xcoms_page(request: Request, session: DbSession, who: AsViewerPage, web: Web) -> HTMLResponse:
    browse = browsequery.read(
        request.url.path, request.query_params, texts=("dag_id", "run_id", "task_id", "key")
    )
    where = browsing.XComFilter(
        dag_id=browse.value("dag_id"),
        run_id=browse.value("run_id"),
        task_id=browse.value("task_id"),
        key=browse.value("key"),
        search=browse.value("q"),
    )
    listing = browsing.xcoms(session, where, browse.window)
    limit = display.limit_of(web.settings)
    shown = [_value(entry.value, limit) for entry in listing.rows]
    return render(request, "browse_xcoms.html", who, **_context(browse, listing), shown=shown)


def _value(value: Any, limit: int) -> dict[str, Any]:
    """An XCom's value as the table shows it: its start, and as much as the display limit."""
    whole = display.of_json(value, limit)
    text = whole.value if whole.truncated else json.dumps(whole.value, ensure_ascii=False)
    cell = display.of_text(text, CELL_BYTES)
    return {
        "cell": cell.value,
        "cut": cell.truncated,
        "full": text,
        "full_cut": whole.truncated,
        "size": whole.size,
    }


@router.get("/browse/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: DbSession, who: AsViewerPage, web: Web) -> HTMLResponse:
    types = browsing.job_types(session)
    browse = browsequery.read(
        request.url.path,
        request.query_params,
        choices={"job_type": types, "state": JOB_STATES},
    )
    where = browsing.JobFilter(
        job_type=browse.value("job_type"), state=browse.value("state"), search=browse.value("q")
    )
    listing = browsing.jobs(session, where, browse.window)
    settings = web.settings
    timeouts = {
        job_store.SCHEDULER: settings.scheduler.job_timeout,
        trigger_store.TRIGGERER: settings.triggerer.job_timeout,
        job_store.DAG_PROCESSOR: settings.dag_processor.health_check_threshold,
    }
    now = utcnow()
    stale = {
        job.id
        for job in listing.rows
        if job.state == job_store.RUNNING
        and now - job.latest_heartbeat > timedelta(seconds=timeouts.get(job.job_type, 60.0))
    }
    return render(
        request,
        "browse_jobs.html",
        who,
        **_context(browse, listing),
        job_types=types,
        job_states=JOB_STATES,
        stale=stale,
    )


def _span(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None
