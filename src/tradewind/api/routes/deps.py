"""Why a task instance is not running: its unmet dependencies, as Airflow's
``.../taskInstances/{task_id}/dependencies`` answers them."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession, Web
from tradewind.api.errors import not_found
from tradewind.api.routes.mapped import BASE, ONE, MapIndexPath
from tradewind.metastore.types import utcnow
from tradewind.scheduler import whynot

router = APIRouter(tags=["TaskInstance"])


class Dependency(BaseModel):
    name: str
    reason: str


class DependencyCollection(BaseModel):
    dependencies: list[Dependency]


def _answer(
    session: DbSession, web: Web, dag_id: str, run_id: str, task_id: str, *, map_index: int
) -> DependencyCollection:
    try:
        found = whynot.failed_deps(
            session, web.settings, dag_id, run_id, task_id, map_index=map_index, now=utcnow()
        )
    except whynot.NoSuchInstance as missing:
        raise not_found(str(missing)) from None
    return DependencyCollection(
        dependencies=[Dependency(name=dep.name, reason=dep.reason) for dep in found]
    )


@router.get(BASE + "/dependencies", response_model=DependencyCollection)
def get_task_instance_dependencies(
    dag_id: str, dag_run_id: str, task_id: str, *, session: DbSession, web: Web, who: AsViewer
) -> DependencyCollection:
    """The conditions that keep the task instance from running now, in words (empty: none)."""
    return _answer(session, web, dag_id, dag_run_id, task_id, map_index=-1)


@router.get(ONE + "/dependencies", response_model=DependencyCollection)
def get_mapped_task_instance_dependencies(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    map_index: MapIndexPath,
    *,
    session: DbSession,
    web: Web,
    who: AsViewer,
) -> DependencyCollection:
    """The same for one instance of a mapped task."""
    return _answer(session, web, dag_id, dag_run_id, task_id, map_index=map_index)
