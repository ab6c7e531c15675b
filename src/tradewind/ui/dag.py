"""The DAG page's grid: runs as columns (newest on the right) and tasks as rows, and the small
JSON endpoint that updates the cells of unfinished runs in place."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from tradewind.api.deps import DbSession
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import grid as grid_store
from tradewind.metastore.store import listing
from tradewind.ui import assetwait, mapped, structure
from tradewind.ui.pages import (
    FINISHED_RUN_STATES,
    AsViewerPage,
    fmt_dt,
    fmt_duration,
    page_not_found,
    render,
    run_mark,
)

router = APIRouter()

RUN_CHOICES = (10, 25, 50, 100)
DEFAULT_RUNS = 25


def dag_context(session: Session, dag_id: str, tab: str) -> dict[str, Any]:
    """What the header of every DAG tab shows."""
    dag = dag_store.get_dag(session, dag_id)
    if dag is None:
        raise page_not_found(f"There is no DAG {dag_id!r}.")
    shape = structure.latest(session, dag_id)
    condition = shape.dag.asset_condition if shape else None
    return {
        "dag": dag,
        # What a DAG scheduled on assets waits for (no query for any other DAG).
        "asset_wait": assetwait.of_dag(session, dag_id, condition) if condition else None,
        # The DAG's dag_display_name where it has one; ids stay in URLs and forms.
        "dag_label": shape.dag.display_name if shape else dag_id,
        "dag_tags": listing.tags_of(session, [dag_id]).get(dag_id, []),
        "tab": tab,
        # The DAG keeps its last good version while its file fails to import: say so.
        "import_error": (
            dag_store.import_error_of_file(session, dag.fileloc) if dag.has_import_errors else None
        ),
    }


def row_key(row: structure.Row) -> str:
    return f"group:{row.id}" if row.kind == "group" else row.id


def cell_class(column: dict[str, str | None], key: str) -> str:
    if key not in column:
        return "nt"  # the run has no such task
    return escape(f"s-{column[key] or 'none'}")


def cell(column: dict[str, str | None], summaries: dict[str, str], key: str) -> str:
    """A grid cell; a mapped task's carries the summary of its instances (``data-m``)."""
    summary = summaries.get(key)
    if summary is None:
        return f'<td class="{cell_class(column, key)}"></td>'
    return f'<td class="{cell_class(column, key)} mapped" data-m="{escape(summary)}"></td>'


def grid_context(session: Session, dag_id: str, count: int) -> dict[str, Any]:
    shape = structure.latest(session, dag_id)
    runs = grid_store.latest_runs(session, dag_id, count)
    found = mapped.run_states(session, dag_id, [run.run_id for run in runs])
    columns = []
    for run in runs:
        tasks = found.states.get(run.run_id, {})
        groups = shape.group_states(tasks) if shape else {}
        columns.append({**tasks, **{f"group:{g}": s for g, s in groups.items()}})
    summaries = [found.mapped.get(run.run_id, {}) for run in runs]
    cells = {}
    for row in shape.rows if shape else ():
        key = row_key(row)
        shown = zip(columns, summaries, strict=True)
        cells[key] = Markup("".join(cell(column, sums, key) for column, sums in shown))
    return {
        "shape": shape,
        "runs": runs,
        "cells": cells,
        "mapped_rows": mapped.mapped_rows(shape),
        "bar_height": bar_heights(runs),
        "run_titles": {run.run_id: run_title(run) for run in runs},
    }


def bar_heights(runs: list[grid_store.GridRun]) -> dict[str, int]:
    """run_id -> the height in pixels of its bar on top of the grid: its duration (so far, for
    a running run) against the longest shown."""
    longest = max((run.duration or 0.0 for run in runs), default=0.0) or 1.0
    return {run.run_id: 6 + int(50 * (run.duration or 0.0) / longest) for run in runs}


def run_title(run: grid_store.GridRun) -> str:
    """The tooltip of a run's bar (the dates are UTC; the page's time zone applies to the run
    panel's)."""
    kind = run.run_type.replace("_", " ")
    took = f" · {fmt_duration(run.duration)}" if run.duration else ""
    return f"{run.run_id}\n{run.state} · {kind} · {fmt_dt(run.logical_date)} UTC{took}"


@router.get("/dags/{dag_id}", response_class=HTMLResponse)
def grid_page(
    request: Request,
    dag_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
    runs: Annotated[int, Query(ge=1, le=100)] = DEFAULT_RUNS,
    run: str = "",
) -> HTMLResponse:
    return render(
        request,
        "grid.html",
        who,
        **dag_context(session, dag_id, "grid"),
        **grid_context(session, dag_id, runs),
        run_count=runs,
        run_choices=RUN_CHOICES,
        chosen_run=run,
    )


@router.get("/ui/dags/{dag_id}/grid", response_class=HTMLResponse)
def grid_fragment(
    request: Request,
    dag_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
    runs: Annotated[int, Query(ge=1, le=100)] = DEFAULT_RUNS,
) -> HTMLResponse:
    """The grid table alone, swapped in when runs come or go."""
    return render(
        request,
        "_grid.html",
        who,
        dag=dag_context(session, dag_id, "grid")["dag"],
        **grid_context(session, dag_id, runs),
    )


@router.get("/ui/dags/{dag_id}/grid-state")
def grid_state(
    dag_id: str,
    *,
    session: DbSession,
    who: AsViewerPage,
    runs: Annotated[int, Query(ge=1, le=100)] = DEFAULT_RUNS,
    watch: Annotated[list[str] | None, Query(max_length=250)] = None,
) -> dict[str, Any]:
    """The states of the grid's latest runs, and the task states of the runs that are not
    finished (or were not at the last look: ``watch``), groups included."""
    latest = grid_store.latest_runs(session, dag_id, runs)
    wanted = {run.run_id for run in latest if run.state not in FINISHED_RUN_STATES}
    wanted.update(r for r in (watch or [])[:100] if r in {run.run_id for run in latest})
    states = mapped.run_states(session, dag_id, sorted(wanted))
    shape = structure.latest(session, dag_id) if wanted else None
    tasks: dict[str, dict[str, str | None]] = {}
    for run_id in wanted:
        found = states.states.get(run_id, {})
        groups = shape.group_states(found) if shape else {}
        tasks[run_id] = {**found, **{f"group:{g}": s for g, s in groups.items()}}
    heights = bar_heights(latest)
    return {
        "runs": [
            {
                "run_id": run.run_id,
                "state": run.state,
                "mark": run_mark(run.state, run.start_date, run.end_date),
                "bar": heights[run.run_id],
                "title": run_title(run),
            }
            for run in latest
        ],
        "tasks": tasks,
        # run_id -> mapped task id -> the summary of its instances
        "mapped": {run_id: states.mapped.get(run_id, {}) for run_id in wanted},
        "active": any(run.state not in FINISHED_RUN_STATES for run in latest),
    }
