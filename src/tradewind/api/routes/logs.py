"""The log of one try of a task instance, read from a byte offset for live following.

A client polls with the ``offset`` of the previous answer until ``end_of_log``. With
``Accept: text/plain`` the answer is the text itself, its offset and end in the headers
``X-Log-Offset`` and ``X-Log-End``.

The log is read from the configured executor's log source
(:meth:`~tradewind.executors.base.BaseExecutor.log_source`): the file in the web server's own
``logging.base_log_folder``, or where the executor's tries write it (the log server of the
Celery worker that ran the try, by the hostname recorded with the try; the pod of a try that
has not ended yet). A worker or a pod whose log cannot be read gives an empty chunk and a
``note`` (header ``X-Log-Note``) saying why, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel

from tradewind import tasklogs
from tradewind.api import display
from tradewind.api.deps import AsViewer, DbSession, Web
from tradewind.api.errors import not_found
from tradewind.executors import load_executor
from tradewind.executors.base import ExecutorError
from tradewind.metastore.models import NO_MAP_INDEX, TaskInstance
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

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
    # Why the log could not be read (its worker does not answer); absent when it was.
    note: str | None = None


def task_instance(
    session: DbSession, dag_id: str, run_id: str, task_id: str, map_index: int = NO_MAP_INDEX
) -> TaskInstance:
    """The task instance, or a 404 that says which part is missing."""
    if run_store.get_run(session, dag_id, run_id) is None:
        raise not_found(f"no DAG run {run_id!r} of DAG {dag_id!r}")
    ti = task_store.get_instance(session, dag_id, run_id, task_id, map_index)
    if ti is not None:
        return ti
    if map_index == NO_MAP_INDEX and instance_store.map_indexes(session, dag_id, run_id, task_id):
        raise not_found(f"task {task_id!r} is mapped: give the instance's map_index")
    if map_index != NO_MAP_INDEX:
        raise not_found(
            f"no instance of map index {map_index} of task {task_id!r} in DAG run {run_id!r}"
        )
    raise not_found(f"no task {task_id!r} in DAG run {run_id!r} of DAG {dag_id!r}")


# A query parameter: which instance of a mapped task (-1, the default: a task not mapped).
MapIndexQuery = Annotated[
    int,
    Query(ge=-1, le=2_147_483_647, description="The instance's map index (-1: not mapped)."),
]


@router.get(
    "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
    response_model=TaskLog,
    response_model_exclude_none=True,
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
    map_index: MapIndexQuery = NO_MAP_INDEX,
) -> TaskLog | Response:
    """Up to 1 MiB of the try's log from ``offset``; ``offset`` in the answer is where to go on."""
    ti = task_instance(session, dag_id, run_id, task_id, map_index)
    if try_number > ti.try_number:
        raise not_found(
            f"task {task_id!r} of DAG run {run_id!r} has had {ti.try_number} tries; "
            f"there is no try {try_number}"
        )
    finished = try_number < ti.try_number or ti.state not in _WRITING
    key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
    note = None
    try:
        chunk = _log_source(web.settings).read(
            key,
            offset,
            finished=finished,
            host=lambda: instance_store.try_hostname(session, ti, key),
        )
    except tasklogs.LogUnavailable as exc:
        chunk, note = tasklogs.LogChunk("", offset, True), str(exc)
    answer = TaskLog(
        content=chunk.content,
        offset=chunk.offset,
        end_of_log=finished and chunk.at_end,
        note=note,
    )
    if _wants_text(request):
        headers = {
            "X-Log-Offset": str(answer.offset),
            "X-Log-End": str(answer.end_of_log).lower(),
        }
        if note is not None:
            headers["X-Log-Note"] = note
        return PlainTextResponse(answer.content, headers=headers)
    return answer


@router.get(
    "/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "The whole log"}},
)
def download_log(
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: Annotated[int, Path(ge=1, le=2_147_483_647)],
    *,
    session: DbSession,
    who: AsViewer,
    web: Web,
    map_index: MapIndexQuery = NO_MAP_INDEX,
) -> StreamingResponse:
    """The whole log of the try (as written so far, for a try that runs) as a text file,
    ``<dag>__<task>__<run>__try<N>.log``, streamed from its source a chunk at a time."""
    ti = task_instance(session, dag_id, run_id, task_id, map_index)
    if try_number > ti.try_number:
        raise not_found(f"task {task_id!r} has had {ti.try_number} tries; no try {try_number}")
    finished = try_number < ti.try_number or ti.state not in _WRITING
    key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
    hostname = instance_store.try_hostname(session, ti, key)
    source = _log_source(web.settings)
    try:
        first = source.read(key, 0, finished=finished, host=lambda: hostname)
    except tasklogs.LogUnavailable as exc:
        raise not_found(f"the log cannot be read: {exc}") from None

    def pieces() -> Iterator[bytes]:
        chunk = first
        while chunk.content:
            yield chunk.content.encode()
            if chunk.at_end:
                return
            try:
                chunk = source.read(key, chunk.offset, finished=finished, host=lambda: hostname)
            except tasklogs.LogUnavailable:
                return  # gone while read: the file ends with what was read

    parts = [dag_id, task_id, run_id] + ([f"map{map_index}"] if map_index >= 0 else [])
    name = "__".join(_safe(part) for part in parts) + f"__try{try_number}.log"
    return display.download_pieces(pieces(), name, "text/plain; charset=utf-8")


def _safe(part: str) -> str:
    """A part of a file name: what is not a letter, digit, dot or dash becomes ``_``."""
    return re.sub(r"[^\w.-]", "_", part)


def _log_source(settings: Settings) -> tasklogs.LogSource:
    """Where the configured executor's tries write their logs; without its extra installed
    here, the files in this host's log folder alone."""
    try:
        return load_executor(settings.core.executor).log_source(settings)
    except ExecutorError as exc:
        return _HereOnly(settings.logging.base_log_folder, str(exc))


class _HereOnly(tasklogs.LogSource):
    """The log files here; a log that is elsewhere cannot be read, for reason ``why``."""

    def __init__(self, folder: FilePath, why: str) -> None:
        super().__init__(folder)
        self.why = why

    def read(
        self, key: TaskKey, offset: int, *, finished: bool, host: tasklogs.HostOf
    ) -> tasklogs.LogChunk:
        if not self.path(key).exists():
            raise tasklogs.LogUnavailable(f"the web server cannot read this log: {self.why}")
        return super().read(key, offset, finished=finished, host=host)


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept
