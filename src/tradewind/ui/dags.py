"""The DAG list: search, tag and paused filters, pages of DAGs with their recent runs, and the
small JSON endpoint that keeps the run dots and pause switches current."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.api.deps import DbSession
from tradewind.metastore.store import listing
from tradewind.ui import structure
from tradewind.ui.pages import FINISHED_RUN_STATES, AsViewerPage, render

router = APIRouter()

PAGE_SIZE = 50
RECENT_RUNS = 10
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
    recent = listing.recent_runs(session, dag_ids, RECENT_RUNS)
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
        recent={dag_id: list(reversed(runs)) for dag_id, runs in recent.items()},
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


@router.get("/ui/dag-states")
def dag_states(
    *,
    session: DbSession,
    who: AsViewerPage,
    dag_id: Annotated[list[str] | None, Query(max_length=250)] = None,
) -> dict[str, Any]:
    """Pause states and recent runs (oldest first) of the DAGs a list page shows."""
    dag_ids = list(dict.fromkeys(dag_id or []))[:200]
    recent = listing.recent_runs(session, dag_ids, RECENT_RUNS)
    paused = listing.pause_states(session, dag_ids)
    active = any(run.state not in FINISHED_RUN_STATES for runs in recent.values() for run in runs)
    return {
        "active": active,
        "dags": {
            dag_id: {
                "paused": paused.get(dag_id, True),
                "runs": [
                    {"run_id": run.run_id, "state": run.state}
                    for run in reversed(recent.get(dag_id, []))
                ],
            }
            for dag_id in dag_ids
        },
    }
