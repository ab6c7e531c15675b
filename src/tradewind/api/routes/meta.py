"""What the DAG processor recorded about DAGs: details, tasks, source and import errors; and
deleting a DAG's records.

Everything here is read from the metastore (the latest serialized version of a DAG); the web
server never imports a DAG file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from tradewind.api import audit
from tradewind.api.deps import AsUser, AsViewer, DbSession, Paged
from tradewind.api.errors import not_found
from tradewind.api.routes.dags import Dag, dag_out, existing_dag
from tradewind.metastore.models import ParseImportError
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import listing
from tradewind.parsing import serialize

router = APIRouter(tags=["dags"])

# What every task of a DAG shares, shown as the DAG's task defaults.
_SHARED = (
    "owner",
    "retries",
    "retry_delay",
    "pool",
    "queue",
    "execution_timeout",
    "depends_on_past",
)


class DagDetails(Dag):
    doc_md: str | None
    start_date: datetime | None
    end_date: datetime | None
    catchup: bool
    dagrun_timeout: float | None
    render_template_as_native_obj: bool
    params: dict[str, dict[str, Any]]
    task_defaults: dict[str, Any]
    version: int
    # What asset updates make the DAG run (None: it is not scheduled on assets), as
    # Airflow 3 names it; ``dataset_expression`` is Airflow 2's name.
    asset_expression: dict[str, Any] | None = None
    dataset_expression: dict[str, Any] | None = None


class Task(BaseModel):
    task_id: str
    operator: str
    upstream_task_ids: list[str]
    downstream_task_ids: list[str]
    trigger_rule: str
    retries: int
    retry_delay: float
    execution_timeout: float | None
    pool: str
    pool_slots: int
    queue: str
    priority_weight: int
    owner: str
    is_sensor: bool
    task_group: str | None
    template_fields: list[str]
    doc_md: str | None


class TaskList(BaseModel):
    tasks: list[Task]
    total_entries: int


class DagSource(BaseModel):
    dag_id: str
    fileloc: str
    content: str


class ImportErrorOut(BaseModel):
    import_error_id: int
    filename: str
    timestamp: datetime
    stack_trace: str


class ImportErrorList(BaseModel):
    import_errors: list[ImportErrorOut]
    total_entries: int


def _serialized(session: DbSession, dag_id: str) -> tuple[serialize.SerializedDag, int]:
    existing_dag(session, dag_id)
    row = dag_store.latest_serialized(session, dag_id)
    if row is None:
        raise not_found(f"DAG {dag_id!r} has no serialized version yet")
    return serialize.deserialize_dag(row.data), row.version


def _param(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "default": spec.get("default"),
        "has_default": bool(spec.get("has_default", True)),
        "schema": spec.get("schema") or {},
        "description": spec.get("description"),
    }


def _task_defaults(dag: serialize.SerializedDag) -> dict[str, Any]:
    tasks = list(dag.tasks.values())
    if not tasks:
        return {}
    shared: dict[str, Any] = {}
    for name in _SHARED:
        values = {getattr(task, name) for task in tasks}
        if len(values) == 1:
            shared[name] = values.pop()
    return shared


@router.delete("/dags/{dag_id}", status_code=204, response_class=Response, name="delete_dag")
def delete_dag(dag_id: str, *, session: DbSession, who: AsUser) -> Response:
    """Delete the DAG's records: runs, task instances and their tries, XComs, versions, tags.

    A DAG file still in the DAGs folder registers the DAG again when it is next parsed.
    """
    if not dag_store.delete_dag(session, dag_id):
        raise not_found(f"no DAG {dag_id!r}")
    audit.record(session, who, "delete_dag", dag_id=dag_id)
    session.commit()
    return Response(status_code=204)


@router.get("/dags/{dag_id}/details", response_model=DagDetails)
def get_dag_details(dag_id: str, *, session: DbSession, who: AsViewer) -> DagDetails:
    """The DAG with what its latest version says: params, docs, dates, task defaults."""
    dag, version = _serialized(session, dag_id)
    base = dag_out(
        existing_dag(session, dag_id), listing.tags_of(session, [dag_id]).get(dag_id, [])
    )
    return DagDetails(
        **base.model_dump(),
        doc_md=dag.doc_md,
        start_date=dag.start_date,
        end_date=dag.end_date,
        catchup=dag.catchup,
        dagrun_timeout=dag.dagrun_timeout,
        render_template_as_native_obj=dag.render_template_as_native_obj,
        params={name: _param(dict(spec)) for name, spec in dag.ordered_params.items()},
        task_defaults=_task_defaults(dag),
        version=version,
        asset_expression=_expression(dag),
        dataset_expression=_expression(dag),
    )


def _expression(dag: serialize.SerializedDag) -> dict[str, Any] | None:
    return dict(dag.asset_condition) if dag.asset_condition is not None else None


@router.get("/dags/{dag_id}/tasks", response_model=TaskList)
def get_tasks(dag_id: str, *, session: DbSession, who: AsViewer) -> TaskList:
    """The tasks of the DAG's latest version, each after its upstream tasks."""
    dag, _ = _serialized(session, dag_id)
    tasks = [_task(dag.get_task(task_id)) for task_id in dag.topological_order()]
    return TaskList(tasks=tasks, total_entries=len(tasks))


def _task(task: serialize.SerializedTask) -> Task:
    return Task(
        task_id=task.task_id,
        operator=task.custom_operator_name or task.operator,
        upstream_task_ids=sorted(task.upstream_task_ids),
        downstream_task_ids=sorted(task.downstream_task_ids),
        trigger_rule=task.trigger_rule.value,
        retries=task.retries,
        retry_delay=task.retry_delay,
        execution_timeout=task.execution_timeout,
        pool=task.pool,
        pool_slots=task.pool_slots,
        queue=task.queue,
        priority_weight=task.priority_weight,
        owner=task.owner,
        is_sensor=task.is_sensor,
        task_group=task.task_group_id or None,
        template_fields=list(task.template_fields),
        doc_md=task.doc_md,
    )


@router.get("/dags/{dag_id}/source", response_model=DagSource)
def get_dag_source(dag_id: str, *, session: DbSession, who: AsViewer) -> DagSource:
    """The source of the DAG's file as last parsed."""
    row = existing_dag(session, dag_id)
    content = dag_store.get_code(session, row.fileloc)
    if content is None:
        raise not_found(f"no source recorded for {row.fileloc}")
    return DagSource(dag_id=dag_id, fileloc=row.fileloc, content=content)


@router.get("/importErrors", response_model=ImportErrorList)
def list_import_errors(*, session: DbSession, who: AsViewer, page: Paged) -> ImportErrorList:
    rows, total = dag_store.page_import_errors(session, limit=page.limit, offset=page.offset)
    return ImportErrorList(import_errors=[_import_error(row) for row in rows], total_entries=total)


@router.get("/importErrors/{import_error_id}", response_model=ImportErrorOut)
def get_import_error(
    import_error_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    *,
    session: DbSession,
    who: AsViewer,
) -> ImportErrorOut:
    row = dag_store.get_import_error(session, import_error_id)
    if row is None:
        raise not_found(f"no import error {import_error_id}")
    return _import_error(row)


def _import_error(row: ParseImportError) -> ImportErrorOut:
    return ImportErrorOut(
        import_error_id=row.id,
        filename=row.filename,
        timestamp=row.timestamp,
        stack_trace=row.stacktrace,
    )
