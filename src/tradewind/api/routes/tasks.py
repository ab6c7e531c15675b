"""Task instances of a run: list, get one, its tries; mark them and clear them with scopes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from tradewind.api import audit
from tradewind.api.deps import AsUser, AsViewer, DbSession, Paged
from tradewind.api.errors import ApiError, not_found
from tradewind.api.routes.fields import MAX_INT, Integral, RequestBody
from tradewind.api.security import Principal
from tradewind.metastore.models import ID_LENGTH, NO_MAP_INDEX, DagRun, TaskInstanceHistory
from tradewind.metastore.models import TaskInstance as TaskInstanceRow
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import deferrals as deferral_store
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.types import utcnow
from tradewind.scheduler import marking, operations
from tradewind.states import TaskState

router = APIRouter(tags=["taskInstances"])

TaskStateName = Literal[
    "none",
    "scheduled",
    "queued",
    "running",
    "success",
    "failed",
    "up_for_retry",
    "up_for_reschedule",
    "deferred",
    "skipped",
    "upstream_failed",
    "removed",
    "restarting",
]


MapIndexes = Annotated[
    list[Annotated[int, Field(ge=-1, le=MAX_INT)]] | None,
    Query(description="Only the instances of these map indexes (-1: a task not mapped)."),
]


class TriggerInfo(BaseModel):
    """The trigger a deferred task instance waits on."""

    id: int
    classpath: str
    created_date: datetime = Field(description="when the task deferred on it")
    triggerer_id: int | None = Field(description="the triggerer job running it (null: none yet)")


class TaskInstance(BaseModel):
    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int
    state: str | None = Field(description="null while the scheduler has not considered it")
    try_number: int
    max_tries: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    hostname: str | None
    pid: int | None
    external_executor_id: str | None = Field(
        description="the executor's name of the try: its pod (kubernetes), its task id (celery)"
    )
    failure_reason: str | None = Field(
        description=(
            "why the try failed: the task's error, or why tradewind ended it (lost, timed "
            "out, could not start, its log could not be written, ...); null unless it failed"
        )
    )
    pool: str
    pool_slots: int
    queue: str
    priority_weight: int
    operator: str | None
    queued_when: datetime | None
    rendered_map_index: str | None = Field(
        description="a mapped instance's name: its task's map_index_template as rendered"
    )
    trigger_id: int | None = Field(
        default=None, description="the trigger a deferred instance waits on"
    )
    trigger_timeout: datetime | None = Field(
        default=None, description="when a deferred instance stops waiting and fails"
    )
    next_method: str | None = Field(
        default=None, description="the method a deferred try resumes in (null: execute)"
    )
    trigger: TriggerInfo | None = Field(
        default=None,
        description="what a deferred instance waits on (given by the endpoints of one instance)",
    )


class TaskInstanceList(BaseModel):
    task_instances: list[TaskInstance]
    total_entries: int


TaskName = Annotated[str, Field(max_length=ID_LENGTH, strict=True)]
MapIndex = Annotated[int, Field(ge=-1, le=MAX_INT, strict=True), Integral]
# [task id, map index]: a JSON array (a strict body would take a Python tuple only).
OneInstance = Annotated[tuple[TaskName, MapIndex], Field(strict=False)]


class Scoped(RequestBody):
    """Which task instances besides the ones named: their relatives and other runs."""

    include_upstream: bool = False
    include_downstream: bool = False
    include_past: bool = Field(default=False, description="The same tasks in earlier runs too.")
    include_future: bool = Field(default=False, description="The same tasks in later runs too.")

    def scope(self) -> operations.Scope:
        return operations.Scope(
            upstream=self.include_upstream,
            downstream=self.include_downstream,
            past=self.include_past,
            future=self.include_future,
        )


class MarkTasks(Scoped):
    new_state: Literal["success", "failed", "skipped"]
    dry_run: bool = Field(default=False, description="Only say which task instances would change.")


class ClearTasks(Scoped):
    dag_run_id: str = Field(max_length=ID_LENGTH)
    task_ids: list[TaskName | OneInstance] | None = Field(
        None,
        description=(
            "The tasks to clear (every task of the run when absent): a task id (each instance"
            " of a mapped task), or [task id, map index] (one instance of a mapped task)."
        ),
    )
    # Airflow's defaults: without "dry_run": false a call only previews.
    only_failed: bool = Field(default=True, description="Only failed and upstream_failed ones.")
    dry_run: bool = Field(
        default=True, description="Only say which task instances would be cleared."
    )


def record_change(
    session: DbSession,
    who: Principal,
    event: str,
    change: BaseModel,
    *,
    count: int,
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
) -> None:
    """Audit and commit a clear or a mark (a dry run changes nothing, so leaves no entry)."""
    if getattr(change, "dry_run", False):
        return
    extra = {**change.model_dump(), "task_instances": count}
    audit.record(session, who, event, dag_id=dag_id, run_id=run_id, task_id=task_id, extra=extra)
    session.commit()


def ti_out(row: TaskInstanceRow | TaskInstanceHistory) -> TaskInstance:
    current = row if isinstance(row, TaskInstanceRow) else None  # a finished try has none
    return TaskInstance(
        dag_id=row.dag_id,
        dag_run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        state=row.state,
        try_number=row.try_number,
        max_tries=row.max_tries,
        start_date=row.start_date,
        end_date=row.end_date,
        duration=row.duration,
        hostname=row.hostname,
        pid=row.pid,
        external_executor_id=row.external_executor_id,
        failure_reason=row.failure_reason,
        pool=row.pool,
        pool_slots=row.pool_slots,
        queue=row.queue,
        priority_weight=row.priority_weight,
        operator=row.operator,
        queued_when=row.queued_dttm,
        rendered_map_index=row.rendered_map_index,
        trigger_id=current.trigger_id if current else None,
        trigger_timeout=current.trigger_timeout if current else None,
        next_method=current.next_method if current else None,
    )


def one_ti_out(session: DbSession, row: TaskInstanceRow) -> TaskInstance:
    """:func:`ti_out` with the trigger a deferred instance waits on."""
    out = ti_out(row)
    found = deferral_store.trigger_of(session, row.trigger_id)
    if found is not None:
        out.trigger = TriggerInfo(
            id=found.id,
            classpath=found.classpath,
            created_date=found.created_date,
            triggerer_id=found.triggerer_id,
        )
    return out


def ti_list(rows: list[TaskInstanceRow]) -> TaskInstanceList:
    return TaskInstanceList(task_instances=[ti_out(r) for r in rows], total_entries=len(rows))


def _plausible(*values: str) -> bool:
    """Whether ids could name a row (longer ones, ones with NUL or lone surrogates never do;
    databases refuse such text, so they never reach a query)."""
    return all(len(v) <= ID_LENGTH and "\x00" not in v and _encodable(v) for v in values)


def _encodable(value: str) -> bool:
    """Whether ``value`` is valid text (JSON bodies may bring lone surrogates, which are not)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def existing_run(session: DbSession, dag_id: str, run_id: str) -> DagRun:
    """The run, or a 404 that says whether the DAG or the run is unknown."""
    run = run_store.get_run(session, dag_id, run_id) if _plausible(dag_id, run_id) else None
    if run is not None:
        return run
    if not _plausible(dag_id) or dag_store.get_dag(session, dag_id) is None:
        raise not_found(f"no DAG {dag_id!r}")
    raise not_found(f"DAG {dag_id!r} has no run {run_id!r}")


def existing_instance(
    session: DbSession, dag_id: str, run_id: str, task_id: str, map_index: int = NO_MAP_INDEX
) -> TaskInstanceRow:
    """The task instance, or a 404 that says what is missing (for a mapped task asked for
    without its map index, as Airflow says it: add the map index)."""
    existing_run(session, dag_id, run_id)
    indexes = (
        instance_store.map_indexes(session, dag_id, run_id, task_id) if _plausible(task_id) else []
    )
    ti = (
        task_store.get_instance(session, dag_id, run_id, task_id, map_index)
        if map_index in indexes
        else None
    )
    if ti is not None:
        return ti
    if not indexes:
        raise not_found(f"run {run_id!r} of DAG {dag_id!r} has no task instance {task_id!r}")
    if map_index == NO_MAP_INDEX:
        raise not_found(
            f"task {task_id!r} is mapped: add the map index to the URL "
            f"(.../taskInstances/{task_id}/{{map_index}}; .../listMapped lists them)"
        )
    raise not_found(
        f"task {task_id!r} of run {run_id!r} has no instance of map index {map_index} "
        f"(its map indexes: {_spans(indexes)})"
    )


def existing_task(session: DbSession, dag_id: str, run_id: str, task_id: str) -> list[int]:
    """The map indexes of the task's instances in the run, or a 404 when it has none."""
    existing_run(session, dag_id, run_id)
    found = (
        instance_store.map_indexes(session, dag_id, run_id, task_id) if _plausible(task_id) else []
    )
    if not found:
        raise not_found(f"run {run_id!r} of DAG {dag_id!r} has no task instance {task_id!r}")
    return found


def _spans(indexes: list[int]) -> str:
    """``0-3, 7``: sorted numbers as ranges."""
    spans: list[list[int]] = []
    for n in indexes:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def not_found_errors(exc: operations.OperationError) -> ApiError:
    """A library error as the API answers it: 404 for what does not exist, else 400."""
    return ApiError(404 if isinstance(exc, operations.NotFound) else 400, str(exc))


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", response_model=TaskInstanceList)
def list_task_instances(
    dag_id: str,
    dag_run_id: str,
    *,
    session: DbSession,
    who: AsViewer,
    page: Paged,
    state: Annotated[
        list[TaskStateName] | None, Query(description="Only in these states (none: not yet).")
    ] = None,
    map_index: MapIndexes = None,
) -> TaskInstanceList:
    existing_run(session, dag_id, dag_run_id)
    rows, total = instance_store.page_instances(
        session,
        dag_id,
        dag_run_id,
        where=instance_store.InstanceFilter(states=state or (), map_indexes=map_index or ()),
        limit=page.limit,
        offset=page.offset,
    )
    return TaskInstanceList(task_instances=[ti_out(r) for r in rows], total_entries=total)


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", response_model=TaskInstance
)
def get_task_instance(
    dag_id: str, dag_run_id: str, task_id: str, *, session: DbSession, who: AsViewer
) -> TaskInstance:
    return one_ti_out(session, existing_instance(session, dag_id, dag_run_id, task_id))


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries",
    response_model=TaskInstanceList,
)
def list_tries(
    dag_id: str, dag_run_id: str, task_id: str, *, session: DbSession, who: AsViewer
) -> TaskInstanceList:
    """Every try of a task instance, first to current (the current one as it is now)."""
    current = existing_instance(session, dag_id, dag_run_id, task_id)
    tries: dict[int, TaskInstanceRow | TaskInstanceHistory] = {
        row.try_number: row
        for row in instance_store.instance_tries(
            session, dag_id, dag_run_id, task_id, current.map_index
        )
    }
    if current.try_number > 0:
        tries[current.try_number] = current
    found = [ti_out(tries[n]) for n in sorted(tries)]
    return TaskInstanceList(task_instances=found, total_entries=len(found))


@router.patch(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
    response_model=TaskInstanceList,
)
def mark_task_instance(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    change: MarkTasks,
    *,
    session: DbSession,
    who: AsUser,
) -> TaskInstanceList:
    """Mark a task instance success, failed or skipped (each instance of a mapped task), with
    the tasks of the scopes asked for; answers the task instances that changed (or would,
    with dry_run)."""
    existing_task(session, dag_id, dag_run_id, task_id)
    return mark(session, who, dag_id, dag_run_id, selector=task_id, change=change)


def mark(
    session: DbSession,
    who: Principal,
    dag_id: str,
    dag_run_id: str,
    *,
    selector: operations.Selector,
    change: MarkTasks,
) -> TaskInstanceList:
    """Mark the instances ``selector`` names (and the scopes') and record it."""
    task_id = selector if isinstance(selector, str) else selector[0]
    try:
        rows = marking.mark_tasks(
            session,
            dag_id,
            dag_run_id,
            [selector],
            TaskState(change.new_state),
            scope=change.scope(),
            dry_run=change.dry_run,
            now=utcnow(),
        )
    except operations.OperationError as exc:
        raise not_found_errors(exc) from None
    record_change(
        session,
        who,
        f"mark_{change.new_state}",
        change,
        count=len(rows),
        dag_id=dag_id,
        run_id=dag_run_id,
        task_id=task_id,
    )
    return ti_list(rows)


@router.post("/dags/{dag_id}/clearTaskInstances", response_model=TaskInstanceList)
def clear_task_instances(
    dag_id: str,
    change: Annotated[ClearTasks, Body()],
    *,
    session: DbSession,
    who: AsUser,
) -> TaskInstanceList:
    """Clear task instances of a run (with the scopes asked for) so the scheduler runs them
    again; answers the task instances cleared (or that would be, with dry_run)."""
    existing_run(session, dag_id, change.dag_run_id)
    try:
        rows = operations.clear_instances(
            session,
            dag_id,
            change.dag_run_id,
            change.task_ids,
            scope=change.scope(),
            only_failed=change.only_failed,
            dry_run=change.dry_run,
            now=utcnow(),
        )
    except operations.OperationError as exc:
        raise not_found_errors(exc) from None
    record_change(
        session, who, "clear", change, count=len(rows), dag_id=dag_id, run_id=change.dag_run_id
    )
    return ti_list(rows)
