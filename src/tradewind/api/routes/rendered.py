"""/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/renderedFields: rendered templates.

What the task instance's latest try rendered in its template fields, as the try reported it
(JSON, secrets masked, long values cut). Empty until a try has rendered.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession
from tradewind.api.errors import not_found
from tradewind.api.routes.fields import IdPath
from tradewind.metastore.store import rendered as rendered_store
from tradewind.metastore.store import tasks as task_store

router = APIRouter(tags=["taskInstances"])


class RenderedFields(BaseModel):
    dag_id: str
    dag_run_id: str
    task_id: str
    # The try that rendered the fields; the task instance's current try while none has.
    try_number: int
    rendered_fields: dict[str, Any]


@router.get(
    "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/renderedFields",
    response_model=RenderedFields,
)
def get_rendered_fields(
    dag_id: IdPath, run_id: IdPath, task_id: IdPath, *, session: DbSession, who: AsViewer
) -> RenderedFields:
    """The rendered template fields of a task instance's latest try that rendered them."""
    ti = task_store.get_instance(session, dag_id, run_id, task_id)
    if ti is None:
        raise not_found(f"no task instance {task_id!r} in run {run_id!r} of DAG {dag_id!r}")
    found = rendered_store.get_rendered(session, dag_id, run_id, task_id, ti.map_index)
    return RenderedFields(
        dag_id=dag_id,
        dag_run_id=run_id,
        task_id=task_id,
        try_number=found.try_number if found is not None else ti.try_number,
        rendered_fields=dict(found.fields) if found is not None else {},
    )
