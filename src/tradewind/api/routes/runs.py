"""DAG runs: list (one DAG's or all, ``~``), trigger, get, mark, delete, clear."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from tradewind import limits
from tradewind.api import audit, display
from tradewind.api.deps import AsUser, AsViewer, DbSession, Paged, Web
from tradewind.api.errors import bad_request, conflict, not_found
from tradewind.api.routes.fields import RequestBody, Rfc3339, conflict_doc, on_string
from tradewind.api.routes.tasks import (
    TaskInstanceList,
    existing_run,
    not_found_errors,
    record_change,
    ti_list,
)
from tradewind.metastore.models import ID_LENGTH
from tradewind.metastore.models import DagRun as DagRunRow
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.types import utcnow
from tradewind.scheduler import marking, operations
from tradewind.scheduler.trigger import TriggerError, trigger_dag
from tradewind.states import DagRunState

router = APIRouter(tags=["dagRuns"])

ALL_DAGS = "~"
# Airflow's allowed run id characters: a run id must fit in a URL path segment.
RUN_ID_PATTERN = r"^[A-Za-z0-9_.~:+-]+$"
NOTE_LENGTH = 1000
# What every dialect stores (MySQL's DATETIME spans years 1000 to 9999).
EARLIEST_YEAR, LATEST_YEAR = 1000, 9990
# The same range as the document states it: an RFC 3339 date-time from year 1000 to 9990.
YEARS_PATTERN = r"^(1\d{3}|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|9990)-"


class DagRun(BaseModel):
    dag_id: str
    dag_run_id: str
    logical_date: datetime
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    run_type: str
    state: str
    conf: dict[str, Any] | str = Field(
        description="The run's params; when conf_truncated, the start of their JSON text."
    )
    conf_truncated: bool = Field(
        default=False, description="Cut to webserver.display_value_kb: GET .../conf has it all."
    )
    conf_size: int = Field(default=2, description="Bytes of the conf's JSON text (UTF-8).")
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    last_scheduling_decision: datetime | None
    external_trigger: bool
    note: str | None = None


class DagRunList(BaseModel):
    dag_runs: list[DagRun]
    total_entries: int


class TriggerRun(RequestBody):
    dag_run_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=ID_LENGTH,
        pattern=RUN_ID_PATTERN,
        description="The run's id (default: manual__<logical date>).",
        json_schema_extra=on_string(pattern=r"^(?!\.\.?$)" + RUN_ID_PATTERN[1:]),
    )
    logical_date: Annotated[datetime | None, Rfc3339] = Field(
        default=None,
        strict=False,  # read from its RFC 3339 text (Rfc3339 refuses any other JSON value)
        description=f"With a time zone, in the years {EARLIEST_YEAR}-{LATEST_YEAR} (default: now).",
        json_schema_extra=on_string(pattern=YEARS_PATTERN),
    )
    conf: dict[str, Any] | None = Field(
        default=None, description="The run's params (a JSON object)."
    )
    note: str | None = Field(default=None, max_length=NOTE_LENGTH, description="A note on the run.")

    @field_validator("dag_run_id")
    @classmethod
    def _addressable(cls, run_id: str | None) -> str | None:
        if run_id in (".", ".."):
            raise ValueError("must not be '.' or '..' (it names the run in URLs)")
        return run_id

    @field_validator("conf")
    @classmethod
    def _storable(cls, conf: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            json.dumps(conf, allow_nan=False, ensure_ascii=False).encode()
        except (ValueError, UnicodeEncodeError):
            message = "conf must be valid JSON text (no NaN, infinity or lone surrogates)"
            raise ValueError(message) from None
        return conf


class RunNote(RequestBody):
    note: str | None = Field(max_length=NOTE_LENGTH, description="The note (null removes it).")


class RunPatch(RequestBody):
    state: Literal["success", "failed", "queued"]


class ClearRun(RequestBody):
    # Airflow's default: without "dry_run": false a call only previews.
    dry_run: bool = Field(
        default=True, description="Only say which task instances would be cleared."
    )
    only_failed: bool = Field(default=False, description="Only failed and upstream_failed ones.")


def existing_dag(session: DbSession, dag_id: str) -> None:
    if len(dag_id) > ID_LENGTH or "\x00" in dag_id or dag_store.get_dag(session, dag_id) is None:
        raise not_found(f"no DAG {dag_id!r}")


def run_out(row: DagRunRow, web: Web) -> DagRun:
    conf = display.of_json(row.conf or {}, display.limit_of(web.settings))
    return DagRun(
        dag_id=row.dag_id,
        dag_run_id=row.run_id,
        logical_date=row.logical_date,
        data_interval_start=row.data_interval_start,
        data_interval_end=row.data_interval_end,
        run_type=row.run_type,
        state=row.state,
        conf=conf.value,
        conf_truncated=conf.truncated,
        conf_size=conf.size,
        queued_at=row.queued_at,
        start_date=row.start_date,
        end_date=row.end_date,
        last_scheduling_decision=row.last_scheduling_decision,
        external_trigger=row.external_trigger,
        note=row.note,
    )


@router.get("/dags/{dag_id}/dagRuns", response_model=DagRunList)
def list_dag_runs(
    dag_id: str,
    *,
    session: DbSession,
    who: AsViewer,
    web: Web,
    page: Paged,
    state: Annotated[
        list[Literal["queued", "running", "success", "failed"]] | None,
        Query(description="Only runs in these states."),
    ] = None,
    run_type: Annotated[
        Literal["scheduled", "manual", "backfill", "asset_triggered", "dataset_triggered"] | None,
        Query(description="Only this type (dataset_triggered: Airflow 2's asset_triggered)."),
    ] = None,
    dag_ids: Annotated[
        list[Annotated[str, Query(max_length=ID_LENGTH)]] | None,
        Query(alias="dag_id", description="With dag_id ~ in the path: only these DAGs."),
    ] = None,
) -> DagRunList:
    """Runs of a DAG (of every DAG when dag_id is ~), newest logical date first."""
    if dag_id != ALL_DAGS:
        existing_dag(session, dag_id)
    if any("\x00" in d for d in dag_ids or ()):
        return DagRunList(dag_runs=[], total_entries=0)
    rows, total = run_store.page_runs(
        session,
        run_store.RunFilter(
            dag_id=None if dag_id == ALL_DAGS else dag_id,
            dag_ids=dag_ids or (),
            states=state or (),
            run_type="asset_triggered" if run_type == "dataset_triggered" else run_type,
        ),
        limit=page.limit,
        offset=page.offset,
    )
    return DagRunList(dag_runs=[run_out(r, web) for r in rows], total_entries=total)


@router.post(
    "/dags/{dag_id}/dagRuns",
    response_model=DagRun,
    responses=conflict_doc("The DAG has a run with this dag_run_id already"),
)
def trigger_run(
    dag_id: str,
    *,
    session: DbSession,
    who: AsUser,
    web: Web,
    change: Annotated[TriggerRun | None, Body()] = None,
) -> DagRun:
    """Trigger a run (it waits while the DAG is paused)."""
    change = change or TriggerRun()
    existing_dag(session, dag_id)
    if change.conf is not None:
        max_mb = web.settings.core.max_conf_mb
        limits.check_json("conf", change.conf, max_mb, "core.max_conf_mb")
    when = change.logical_date
    if when is not None and (when.tzinfo is None or when.utcoffset() is None):
        raise bad_request("logical_date needs a time zone (e.g. 2024-01-01T00:00:00+00:00)")
    if when is not None and not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise bad_request(f"logical_date must be within the years {EARLIEST_YEAR}-{LATEST_YEAR}")
    if change.dag_run_id and run_store.get_run(session, dag_id, change.dag_run_id):
        raise conflict(f"DAG {dag_id!r} already has a run {change.dag_run_id!r}")
    try:
        run = trigger_dag(
            session,
            dag_id,
            now=utcnow(),
            run_id=change.dag_run_id,
            conf=change.conf,
            logical_date=when,
            note=change.note,
        )
    except TriggerError as exc:
        if "already has a run" in str(exc):
            raise conflict(str(exc)) from None
        raise bad_request(str(exc)) from None
    except (OverflowError, ValueError) as exc:
        raise bad_request(f"cannot make a run at that logical date: {exc}") from None
    audit.record(
        session,
        who,
        "trigger",
        dag_id=dag_id,
        run_id=run.run_id,
        extra={"conf": change.conf, "logical_date": when.isoformat() if when else None},
    )
    session.commit()
    session.refresh(run)
    return run_out(run, web)


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}", response_model=DagRun)
def get_dag_run(
    dag_id: str, dag_run_id: str, *, session: DbSession, who: AsViewer, web: Web
) -> DagRun:
    """A run (a long conf cut: GET .../conf has it all)."""
    return run_out(existing_run(session, dag_id, dag_run_id), web)


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/conf",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The whole conf"}},
)
def download_run_conf(
    dag_id: str, dag_run_id: str, *, session: DbSession, who: AsViewer
) -> StreamingResponse:
    """The whole conf of a run as a JSON file."""
    run = existing_run(session, dag_id, dag_run_id)
    return display.download_json(run.conf or {}, f"{dag_id}.{dag_run_id}.conf")


@router.patch("/dags/{dag_id}/dagRuns/{dag_run_id}", response_model=DagRun)
def mark_dag_run(
    dag_id: str, dag_run_id: str, change: RunPatch, *, session: DbSession, who: AsUser, web: Web
) -> DagRun:
    """Mark a run success (its unfinished tasks succeed), failed (tries under way fail, tasks
    not started are skipped) or queued (it is started again)."""
    existing_run(session, dag_id, dag_run_id)
    try:
        run = marking.mark_run(session, dag_id, dag_run_id, DagRunState(change.state), now=utcnow())
    except operations.OperationError as exc:
        raise not_found_errors(exc) from None
    audit.record(session, who, f"mark_run_{change.state}", dag_id=dag_id, run_id=dag_run_id)
    session.commit()
    session.refresh(run)
    return run_out(run, web)


@router.patch("/dags/{dag_id}/dagRuns/{dag_run_id}/setNote", response_model=DagRun)
def set_run_note(
    dag_id: str, dag_run_id: str, change: RunNote, *, session: DbSession, who: AsUser, web: Web
) -> DagRun:
    """Set or remove the note of a run."""
    run = existing_run(session, dag_id, dag_run_id)
    run_store.set_note(session, run.id, change.note, utcnow())
    audit.record(session, who, "set_note", dag_id=dag_id, run_id=dag_run_id)
    session.commit()
    session.refresh(run)
    return run_out(run, web)


@router.delete("/dags/{dag_id}/dagRuns/{dag_run_id}", status_code=204)
def delete_dag_run(dag_id: str, dag_run_id: str, *, session: DbSession, who: AsUser) -> Response:
    existing_run(session, dag_id, dag_run_id)
    marking.delete_run(session, dag_id, dag_run_id)
    audit.record(session, who, "delete_run", dag_id=dag_id, run_id=dag_run_id)
    session.commit()
    return Response(status_code=204)


@router.post("/dags/{dag_id}/dagRuns/{dag_run_id}/clear", response_model=TaskInstanceList)
def clear_dag_run(
    dag_id: str,
    dag_run_id: str,
    *,
    session: DbSession,
    who: AsUser,
    change: Annotated[ClearRun | None, Body()] = None,
) -> TaskInstanceList:
    """Clear the run's task instances (only the failed ones with only_failed) so that the
    scheduler runs them again; answers them (or those that would be, with dry_run)."""
    change = change or ClearRun()
    existing_run(session, dag_id, dag_run_id)
    try:
        rows = operations.clear_instances(
            session,
            dag_id,
            dag_run_id,
            None,
            only_failed=change.only_failed,
            dry_run=change.dry_run,
            now=utcnow(),
        )
    except operations.OperationError as exc:
        raise not_found_errors(exc) from None
    record_change(session, who, "clear", change, count=len(rows), dag_id=dag_id, run_id=dag_run_id)
    return ti_list(rows)
