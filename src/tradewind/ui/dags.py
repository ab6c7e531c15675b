"""The DAG list: search, tag and paused filters, pages of DAGs with their runs by state, last
run and its task states, and the small JSON endpoint that keeps those and the pause switches
current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tradewind.api.deps import DbSession
from tradewind.metastore.store import listing
from tradewind.ui import structure
from tradewind.ui.pages import STATES, AsViewerPage, render, templates

router = APIRouter()

PAGE_SIZE = 50
UNFINISHED_RUN_STATES = ("queued", "running")
STATUSES = {"all": None, "active": False, "paused": True}


@router.get("/dags", response_class=HTMLResponse)
def dag_list(
    request: Request,
    *,
    session: DbSession,
    who: AsViewerPage,
    q: Annotated[str, Query(max_length=250)] = "",
    tag: Annotated[list[str] | None, Query()] = None,
    status: str = "all",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    status = status if status in STATUSES else "all"
    tags = [t for t in (tag or []) if t]
    found = listing.page_dags(
        session,
        listing.DagFilter(tags=tags, dag_id_contains=q.strip() or None, paused=STATUSES[status]),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    dag_ids = [row.dag_id for row in found.dags]
    pages = max(1, -(-found.total // PAGE_SIZE))

    def link(**change: Any) -> str:
        params: dict[str, Any] = {"q": q, "tag": tags, "status": status, "page": page}
        params.update(change)
        kept = {k: v for k, v in params.items() if v not in ("", None, [], "all", 1)}
        return "/dags" + ("?" + urlencode(kept, doseq=True) if kept else "")

    return render(
        request,
        "dags.html",
        who,
        dags=found.dags,
        labels=structure.display_names(session, dag_ids),
        tags=found.tags,
        stats=row_stats(session, dag_ids),
        total=found.total,
        page=page,
        pages=pages,
        q=q,
        chosen_tags=tags,
        all_tags=listing.all_tags(session),
        status=status,
        link=link,
        import_errors=listing.import_error_count(session),
        first=(page - 1) * PAGE_SIZE + 1,
    )


@dataclass(frozen=True)
class RowStats:
    """What a DAG list row shows of a DAG's runs."""

    runs: dict[str, int]
    last: listing.RecentRun | None
    tasks: dict[str | None, int]


def row_stats(session: Session, dag_ids: list[str]) -> dict[str, RowStats]:
    """dag_id -> its runs by state, its last run and that run's task states (three queries)."""
    counts = listing.run_state_counts(session, dag_ids)
    last = {dag_id: runs[0] for dag_id, runs in listing.recent_runs(session, dag_ids, 1).items()}
    tasks = listing.task_state_counts(session, [(d, run.run_id) for d, run in last.items()])
    return {
        dag_id: RowStats(counts.get(dag_id, {}), last.get(dag_id), tasks.get(dag_id, {}))
        for dag_id in dag_ids
    }


@router.get("/ui/dag-states")
def dag_states(
    *,
    session: DbSession,
    who: AsViewerPage,
    dag_id: Annotated[list[str] | None, Query(max_length=250)] = None,
) -> dict[str, Any]:
    """Pause states and the live cells (runs by state, last run, its task states) of the DAGs
    a list page shows, as the page renders them."""
    dag_ids = list(dict.fromkeys(dag_id or []))[:200]
    stats = row_stats(session, dag_ids)
    paused = listing.pause_states(session, dag_ids)
    cells = templates.env.get_template("_dag_stats.html").module
    return {
        "active": any(
            stat.runs.get(state) for stat in stats.values() for state in UNFINISHED_RUN_STATES
        ),
        "dags": {
            dag_id: {
                "paused": paused.get(dag_id, True),
                "last_run": last.run_id if (last := stats[dag_id].last) else None,
                "run_counts": stats[dag_id].runs,
                "cells": {
                    "run-counts": str(cells.runs_cell(dag_id, stats[dag_id])),  # type: ignore[attr-defined]
                    "last-run": str(cells.last_run_cell(dag_id, stats[dag_id])),  # type: ignore[attr-defined]
                    "task-counts": str(cells.tasks_cell(dag_id, stats[dag_id], STATES)),  # type: ignore[attr-defined]
                },
            }
            for dag_id in dag_ids
        },
    }
