"""The log of one try of a task instance, read from a byte offset for live following.

A client polls with the ``offset`` of the previous answer until ``end_of_log``. With
``Accept: text/plain`` the answer is the text itself, its offset and end in the headers
``X-Log-Offset`` and ``X-Log-End``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession, Web
from tradewind.api.errors import not_found
from tradewind.executors.base import TaskKey
from tradewind.metastore.models import NO_MAP_INDEX, TaskInstance
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.runtime.logs import log_path, read_log
from tradewind.states import TaskState

router = APIRouter(tags=["logs"])

# The current try of an instance in one of these states may still write to its log.
_WRITING = frozenset(
    {
        TaskState.SCHEDULED.value,
        TaskState.QUEUED.value,
        TaskState.RUNNING.value,
        TaskState.UP_FOR_RESCHEDULE.value,
        TaskState.RESTARTING.value,  # its process may still be stopping
    }
)
MAX_OFFSET = 2**62


class TaskLog(BaseModel):
    content: str
    offset: int
    end_of_log: bool


def task_instance(session: DbSession, dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    """The task instance, or a 404 that says which part is missing."""
    if run_store.get_run(session, dag_id, run_id) is None:
        raise not_found(f"no DAG run {run_id!r} of DAG {dag_id!r}")
    ti = task_store.get_instance(session, dag_id, run_id, task_id)
    if ti is None:
        raise not_found(f"no task {task_id!r} in DAG run {run_id!r} of DAG {dag_id!r}")
    return ti


@router.get(
    "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
    response_model=TaskLog,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_log(
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: Annotated[int, Path(ge=1, le=2_147_483_647)],
    *,
    request: Request,
    session: DbSession,
    who: AsViewer,
    web: Web,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Byte offset to read from.")] = 0,
) -> TaskLog | Response:
    """Up to 1 MiB of the try's log from ``offset``; ``offset`` in the answer is where to go on."""
    ti = task_instance(session, dag_id, run_id, task_id)
    if try_number > ti.try_number:
        raise not_found(
            f"task {task_id!r} of DAG run {run_id!r} has had {ti.try_number} tries; "
            f"there is no try {try_number}"
        )
    finished = try_number < ti.try_number or ti.state not in _WRITING
    key = TaskKey(dag_id, run_id, task_id, NO_MAP_INDEX, try_number)
    chunk = read_log(log_path(web.settings.logging.base_log_folder, key), offset, final=finished)
    answer = TaskLog(
        content=chunk.content, offset=chunk.offset, end_of_log=finished and chunk.at_end
    )
    if _wants_text(request):
        return PlainTextResponse(
            answer.content,
            headers={
                "X-Log-Offset": str(answer.offset),
                "X-Log-End": str(answer.end_of_log).lower(),
            },
        )
    return answer


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept
