"""``tradewind tasks logs``: print the log of one try of a task instance.

The log is read as the web server reads it (:mod:`tradewind.api.routes.logs`): from the
configured executor's log source (this host's log folder, a Celery worker's log server, a
pod), or from this host's log folder when that executor's extra is not installed here.
"""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from tradewind import tasklogs
from tradewind.api.errors import ApiError
from tradewind.api.routes import logs as log_routes
from tradewind.cli._common import get_settings, map_index_option, open_metastore, user_errors
from tradewind.executors import load_executor
from tradewind.executors.base import ExecutorError
from tradewind.metastore.models import TaskInstance
from tradewind.metastore.store import instances as instance_store
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

# The current try of an instance in one of these states may still write to its log.
_WRITING = frozenset(
    state.value
    for state in (
        TaskState.SCHEDULED,
        TaskState.QUEUED,
        TaskState.RUNNING,
        TaskState.UP_FOR_RESCHEDULE,
        TaskState.RESTARTING,
    )
)


@click.command()
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_id")
@click.option(
    "-t",
    "--try",
    "try_number",
    type=click.IntRange(1),
    help="Which try (default: the latest).",
)
@map_index_option
def logs(dag_id: str, task_id: str, run_id: str, try_number: int | None, map_index: int) -> None:
    """Print the log of a try of a task instance (the latest try unless --try)."""
    settings = get_settings()
    with open_metastore() as sessions, sessions() as session:
        with user_errors(ApiError):
            ti = log_routes.task_instance(session, dag_id, run_id, task_id, map_index)
        if ti.try_number == 0:
            raise click.ClickException(f"task {task_id!r} of run {run_id!r} has not run yet")
        if try_number is None:
            try_number = ti.try_number
        if try_number > ti.try_number:
            raise click.ClickException(
                f"task {task_id!r} of run {run_id!r} has had {ti.try_number} tries; "
                f"there is no try {try_number}"
            )
        key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
        finished = try_number < ti.try_number or ti.state not in _WRITING
        with user_errors(tasklogs.LogUnavailable):
            _print_log(settings, session, ti, key, finished)


def _print_log(
    settings: Settings, session: Session, ti: TaskInstance, key: TaskKey, finished: bool
) -> None:
    source = _log_source(settings)
    offset, shown = 0, False
    while True:
        chunk = source.read(
            key,
            offset,
            finished=finished,
            host=lambda: instance_store.try_hostname(session, ti, key),
        )
        if chunk.content:
            click.echo(chunk.content, nl=False)
            shown = True
        if chunk.at_end or chunk.offset == offset:
            break
        offset = chunk.offset
    if not shown:
        click.echo(f"(try {key.try_number} has no log yet)", err=True)


def _log_source(settings: Settings) -> tasklogs.LogSource:
    try:
        return load_executor(settings.core.executor).log_source(settings)
    except ExecutorError:
        return tasklogs.LogSource(settings.logging.base_log_folder)
