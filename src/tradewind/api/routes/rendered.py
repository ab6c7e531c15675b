"""/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/renderedFields: rendered templates.

What the task instance's latest try rendered in its template fields, as the try reported it
(JSON, secrets masked, long values cut). Empty until a try has rendered.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession
from tradewind.api.routes.fields import IdPath
from tradewind.api.routes.logs import MapIndexQuery, task_instance
from tradewind.metastore.models import NO_MAP_INDEX
from tradewind.metastore.store import rendered as rendered_store

router = APIRouter(tags=["taskInstances"])


class RenderedFields(BaseModel):
    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int
    # The try that rendered the fields; the task instance's current try while none has.
    try_number: int
    rendered_fields: dict[str, Any]


@router.get(
    "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/renderedFields",
    response_model=RenderedFields,
)
def get_rendered_fields(
    dag_id: IdPath,
    run_id: IdPath,
    task_id: IdPath,
    *,
    session: DbSession,
    who: AsViewer,
    map_index: MapIndexQuery = NO_MAP_INDEX,
) -> RenderedFields:
    """The rendered template fields of a task instance's latest try that rendered them (of one
    instance of a mapped task with ``map_index``)."""
    ti = task_instance(session, dag_id, run_id, task_id, map_index)
    found = rendered_store.get_rendered(session, dag_id, run_id, task_id, ti.map_index)
    return RenderedFields(
        dag_id=dag_id,
        dag_run_id=run_id,
        task_id=task_id,
        map_index=ti.map_index,
        try_number=found.try_number if found is not None else ti.try_number,
        rendered_fields=dict(found.fields) if found is not None else {},
    )
