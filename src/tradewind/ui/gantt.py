"""The DAG page's Gantt chart of a run: a row per task instance with a bar per try, and the
time each try waited in the queue before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradewind.api.deps import DbSession
from tradewind.metastore.store import grid as grid_store
from tradewind.ui.dag import dag_context
from tradewind.ui.dagtabs import chosen_run
from tradewind.ui.pages import AsViewerPage, render

router = APIRouter()


@router.get("/dags/{dag_id}/gantt", response_class=HTMLResponse)
def gantt_page(
    request: Request, dag_id: str, *, session: DbSession, who: AsViewerPage, run: str = ""
) -> HTMLResponse:
    context = dag_context(session, dag_id, "gantt")
    runs = chosen_run(session, dag_id, run)
    rows: list[dict[str, Any]] = []
    span = 0.0
    if runs["run"] is not None:
        rows, span = gantt_rows(grid_store.run_timings(session, dag_id, runs["run"].run_id))
    ticks = [span * i / 5 for i in range(6)]
    return render(request, "gantt.html", who, **context, **runs, rows=rows, ticks=ticks)


def gantt_rows(timings: list[grid_store.Timing]) -> tuple[list[dict[str, Any]], float]:
    """One row per task instance that started, with a bar per try (and the time it waited
    in the queue before it), placed in percent of the run's span; and that span in seconds."""
    started = [t for t in timings if t.start_date is not None]
    if not started:
        return [], 0.0
    first = min(min(t.start_date, t.queued_dttm or t.start_date) for t in started if t.start_date)
    last = max((t.end_date or t.start_date) for t in started if t.start_date)
    span = max((last - first).total_seconds(), 0.001)

    def place(begin: datetime, end: datetime) -> dict[str, float]:
        left = (begin - first).total_seconds()
        length = (end - begin).total_seconds()
        return {"left": 100 * left / span, "width": max(100 * length / span, 0.3)}

    by_instance: dict[tuple[str, int], list[grid_store.Timing]] = {}
    for t in sorted(started, key=lambda t: t.try_number):
        by_instance.setdefault((t.task_id, t.map_index), []).append(t)
    rows = []
    for (task_id, map_index), tries in by_instance.items():
        bars: list[dict[str, Any]] = []
        for t in tries:
            assert t.start_date is not None
            end = t.end_date or last
            bars.append(
                {
                    **place(t.start_date, end),
                    "state": t.state or "none",
                    "try_number": t.try_number,
                    "start": t.start_date,
                    "end": t.end_date,
                    "duration": (end - t.start_date).total_seconds(),
                    "queued": place(t.queued_dttm, t.start_date)
                    if t.queued_dttm and t.queued_dttm < t.start_date
                    else None,
                }
            )
        rows.append(
            {
                "task_id": task_id,
                "label": task_id + (f" [{map_index}]" if map_index >= 0 else ""),
                "query": f"?map_index={map_index}" if map_index >= 0 else "",
                "bars": bars,
                "duration": sum(float(bar["duration"]) for bar in bars),
                "begin": tries[0].start_date,
            }
        )
    rows.sort(key=lambda row: (row["begin"], row["label"]))
    return rows, span
