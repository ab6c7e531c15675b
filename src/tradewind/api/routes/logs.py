"""The log of one try of a task instance, read from a byte offset for live following.

A client polls with the ``offset`` of the previous answer until ``end_of_log``. With
``Accept: text/plain`` the answer is the text itself, its offset and end in the headers
``X-Log-Offset`` and ``X-Log-End``.

On the celery executor, a try's log that is not in the web server's own
``logging.base_log_folder`` is fetched from the log server of the worker that ran it (its
hostname, recorded with the try; see :mod:`tradewind.runtime.served_logs`). On the kubernetes
executor, the log of a try whose pod has not ended yet is read from the pod through the Kubernetes
API; when the pod ends the scheduler keeps its log in the log folder (see
:mod:`tradewind.executors.kubernetes.podlogs`). A worker or a pod whose log cannot be read gives
an empty chunk and a ``note`` (header ``X-Log-Note``) saying why, not an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from tradewind.api.deps import AsViewer, DbSession, Web
from tradewind.api.errors import not_found
from tradewind.metastore.models import NO_MAP_INDEX, TaskInstance
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.runtime.logs import LogChunk, log_path, read_log
from tradewind.runtime.served_logs import (
    WorkerLogError,
    fetch_log,
    relative_log_path,
)
from tradewind.settings import KubernetesSettings, Settings
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
    note = None
    try:
        chunk = _read(web.settings, key, offset, finished, lambda: _worker(session, ti, key))
    except _Unreadable as exc:
        chunk, note = LogChunk("", offset, True), str(exc)
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


class _Unreadable(Exception):
    """Where the log is (a worker, a pod) does not give it; the text says why."""


def _read(
    settings: Settings, key: TaskKey, offset: int, finished: bool, worker: Callable[[], str | None]
) -> LogChunk:
    """The chunk from the local log file, or, when the file is not here, from the log server
    of the try's worker (celery) or from its pod (kubernetes)."""
    path = log_path(settings.logging.base_log_folder, key)
    executor = settings.core.executor
    if path.exists() or executor not in ("celery", "kubernetes"):
        return read_log(path, offset, final=finished)
    if executor == "kubernetes":
        started = worker() is not None
        return _from_pod(settings, key, path, offset=offset, finished=finished, started=started)
    port = settings.celery.worker_log_server_port
    hostname = worker() if port else None
    if not hostname:
        return read_log(path, offset, final=finished)
    try:
        return fetch_log(
            hostname,
            port,
            settings.webserver.secret_key,
            relative_log_path(key),
            offset,
            final=finished,
        )
    except WorkerLogError as exc:
        raise _Unreadable(str(exc)) from None


def _from_pod(
    settings: Settings, key: TaskKey, path: FilePath, *, offset: int, finished: bool, started: bool
) -> LogChunk:
    """The log of a try whose pod has not ended yet, from the pod; once it has ended, from the
    file the scheduler keeps (it may have appeared since we looked). A try whose pod is not
    made yet has no log yet, and nothing to say about it."""
    from tradewind.executors.kubernetes import podlogs, podspec

    try:
        chunk = podlogs.read_live(
            _pod_api(settings.kubernetes),
            settings.kubernetes.namespace,
            podspec.pod_name(key),
            offset,
        )
    except podlogs.PodLogError as exc:
        if path.exists():
            return read_log(path, offset, final=finished)
        if exc.status == 404 and not started and not finished:
            return LogChunk("", offset, True)  # its pod is not made yet
        raise _Unreadable(str(exc)) from None
    if path.exists():  # the pod ended while we read it
        return read_log(path, offset, final=finished)
    return LogChunk(chunk.content, chunk.offset, chunk.at_end and finished)


@functools.lru_cache(maxsize=4)
def _pod_api(settings: KubernetesSettings) -> Any:
    try:
        from tradewind.executors.kubernetes.client import make_api
    except ModuleNotFoundError:
        raise _Unreadable(
            "the web server cannot read pod logs: pip install 'tradewind[kubernetes]'"
        ) from None
    try:
        return make_api(settings)
    except Exception as exc:  # no kubeconfig, no service account
        raise _Unreadable(f"the web server cannot reach the Kubernetes API: {exc}") from None


def _worker(session: DbSession, ti: TaskInstance, key: TaskKey) -> str | None:
    """The host that ran the try, if it has started."""
    if key.try_number == ti.try_number:
        # A try queued again for a retry still shows the last try's host until it starts.
        return ti.hostname if ti.start_date is not None else None
    for old in instance_store.instance_tries(session, key.dag_id, key.run_id, key.task_id):
        if old.try_number == key.try_number:
            return old.hostname
    return None


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept
