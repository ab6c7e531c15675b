"""The task runner: one try of one task, in a process of its own.

:func:`run_workload` is what an executor runs for each try (in a fork-server child, or through
``tradewind tasks run``). It writes the try's log, reads what it needs from the metastore, runs
the task and reports through the channel (see :mod:`tradewind.reports`): running at once,
finished at the end. It never writes to the metastore; the scheduler applies the reports.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from tradewind import reports, tasklogs
from tradewind.exceptions import ParamValidationError, TaskNotFound
from tradewind.executors.base import Channel
from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import DatabaseError
from tradewind.parsing import loader
from tradewind.runtime import dagfile, execute, logs, lookups, rehearsal
from tradewind.runtime.context import (
    DagRunView,
    TaskInstanceView,
    build_context,
    is_rescheduling_sensor,
    sensor_state,
)
from tradewind.runtime.crossdag import CrossDag
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.runtime.tryservices import try_services
from tradewind.settings import Settings
from tradewind.telemetry import tracing
from tradewind.workloads import TaskKey, Workload

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

log = logging.getLogger(__name__)


class CannotRun(Exception):
    """The try cannot run (its DAG or task cannot be loaded, its run is not found, ...)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class Prepared:
    """A try ready to run: its task, its task instance and context, and what reads for it."""

    task: BaseOperator
    ti: TaskInstanceView
    context: dict[str, Any]
    reader: MetastoreReader
    cross_dag: CrossDag
    # Where a try resuming after a deferral goes on (None: execute) and with what.
    next_method: str | None = None
    next_kwargs: dict[str, Any] | None = None

    def close(self) -> None:
        self.reader.close()
        self.cross_dag.close()


def run_workload(
    workload: Workload,
    channel: Channel,
    settings: Settings,
    *,
    log_to_stdout: bool = False,
    on_terminal: bool = False,
) -> None:
    """Run one try: log to its file (or stdout), send RUNNING, run the task, send FINISHED.

    ``on_terminal`` shows the log through this process's ``sys.stdout`` and ``sys.stderr``
    instead (``dags test`` runs tries in its own process).
    """
    started = time.monotonic()
    key = workload.key
    import_from_dags_folder(settings)
    masker = SecretsMasker()
    capture, where = _log_of(workload, settings, masker, log_to_stdout, on_terminal)
    hostname, pid = socket.gethostname(), os.getpid()

    def running() -> dict[str, Any]:
        return reports.encode(reports.Running(reports.now(), pid, hostname))

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(capture)
        except OSError as exc:
            # Said to the executor, so that the task instance shows it (not only our stderr).
            folder = settings.logging.base_log_folder
            error = f"cannot write the try's log: {exc} (logging.base_log_folder is {folder})"
            print(f"tradewind: {key}: {error}", file=sys.stderr)
            channel.send(running())
            channel.send(execute.failed(error, retryable=True).message(masker))
            return
        log.info("Task %s, on %s (pid %d), log %s", key, hostname, pid, where)
        channel.send(running())
        try:
            prepared = prepare(workload, settings, masker, hostname, pid)
        except CannotRun as exc:
            log.error("The task cannot run: %s", exc)
            channel.send(execute.failed(str(exc), retryable=exc.retryable).message(masker))
            return
        except Exception as exc:
            log.exception("The task runner failed")
            error = f"the task runner failed: {execute.summary(exc)}"
            channel.send(execute.failed(error, retryable=True).message(masker))
            return
        try:
            with tracing.try_scope(settings.traces, astuple(key)):
                _execute(workload, prepared, channel, settings, masker=masker, started=started)
        finally:
            prepared.close()


def _execute(
    workload: Workload,
    prepared: Prepared,
    channel: Channel,
    settings: Settings,
    *,
    masker: SecretsMasker,
    started: float,
) -> None:
    """Run the prepared task, report how it ended, then run its callbacks."""
    # Variable.get, Connection.get and conf in the task read what the try reads.
    with lookups.reading_from(prepared.reader, settings):
        outcome = execute.execute_task(
            prepared.task,
            prepared.context,
            prepared.ti,
            _timeout(workload, prepared.task),
            elapsed=time.monotonic() - started,
            next_method=prepared.next_method,
            next_kwargs=prepared.next_kwargs,
        )
        # The scheduler moves on as soon as it knows; callbacks cannot change it.
        channel.send(outcome.message(masker))
        execute.run_callbacks(prepared.task, prepared.context, outcome, workload.key.try_number)


def _log_of(
    workload: Workload,
    settings: Settings,
    masker: SecretsMasker,
    log_to_stdout: bool,
    on_terminal: bool,
) -> tuple[logs.TryLog | logs.TerminalLog, str]:
    """Where the try's log goes, and how to say so."""
    level = settings.logging.level
    if on_terminal:
        return logs.TerminalLog(masker, level), "on the terminal"
    if log_to_stdout:
        return logs.TryLog(None, masker, level), "on stdout"
    path = tasklogs.log_path(settings.logging.base_log_folder, workload.key)
    return logs.TryLog(path, masker, level), str(path)


def warm_up(settings: Settings) -> None:
    """Import what every try needs, once, in a process that forks tries (a fork server).

    The database dialect and driver are imported when an engine is created, the ORM's
    mappers are configured and the crypto library set up on their first use; doing that here
    spares each forked try the cost (a mapped try reads its input from the metastore).
    Nothing connects and nothing stays open, so forking afterwards is safe.
    """
    engine_module.create_engine(settings.database).dispose()
    configure_mappers()
    # The first Fernet key made in a process sets up its crypto library (~3 ms): once, here,
    # and the tries use the cipher made here.
    with contextlib.suppress(crypto.CryptoError):
        crypto.Cipher.of(settings.core.fernet_key)
    # Each try logs at this level: set here, a try need not set it (see logs.preset_level).
    logs.preset_level(settings.logging.level)
    loader.warm_imports()
    tracing.warm_up(settings.traces)
    import_from_dags_folder(settings)
    rehearsal.rehearse(settings, run_workload)
    _prime_type_checks()


def import_from_dags_folder(settings: Settings) -> None:
    """DAG files import their helper modules from the DAGs folder, at run time as at parse time."""
    folder = str(settings.core.dags_folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def warm_file(dag_file: str) -> list[str]:
    """Import a DAG file ahead of its tries, in a process that forks them (a warm process).

    Returns the files whose change makes the import stale (see :func:`dagfile.preload`).
    """
    files = dagfile.preload(Path(dag_file))
    _prime_type_checks()  # the DAG file's imports may have cleared them
    return files


# Values a try logs with (logging asks whether the first is a Mapping). Such a check on an
# abstract class walks all its subclasses the first time a type is seen (~0.5 ms for
# Mapping) and is remembered only until a class is registered with any abstract class:
# done in the process that forks tries, after its last import, the forked tries find it done.
_LOGGED_TYPES: tuple[object, ...] = ("", 0, 0.0, Path(), TaskKey("", "", "", 0))


def _prime_type_checks() -> None:
    for value in _LOGGED_TYPES:
        isinstance(value, Mapping)


def _timeout(workload: Workload, task: BaseOperator) -> float | None:
    """The try's execution_timeout in seconds: the scheduler's, else the task's own."""
    if workload.execution_timeout is not None:
        return workload.execution_timeout
    if task.execution_timeout is not None:
        return task.execution_timeout.total_seconds()
    return None


def prepare(
    workload: Workload, settings: Settings, masker: SecretsMasker, hostname: str, pid: int
) -> Prepared:
    """Load the task and build the try's context (:class:`CannotRun`: it cannot)."""
    key = workload.key
    try:
        dag, task = dagfile.load_task(Path(workload.dag_file), key.dag_id, key.task_id)
        cipher = crypto.Cipher.of(settings.core.fernet_key)
    except (dagfile.DagLoadError, TaskNotFound, crypto.CryptoError) as exc:
        raise CannotRun(str(exc), retryable=False) from None
    handed = {
        (key.dag_id, key.run_id, task_id, name): value
        for task_id, name, value in workload.xcoms or ()
    }
    reader = MetastoreReader(
        functools.partial(engine_module.create_engine, settings.database),
        cipher,
        masker,
        handed=handed,
    )
    try:
        run = (
            DagRunView.from_json(workload.run)
            if workload.run is not None
            else reader.dag_run(key.dag_id, key.run_id)
        )
        if run is None:
            raise CannotRun(
                f"DAG {key.dag_id!r} has no run {key.run_id!r} in the metastore", retryable=False
            )
        ti = TaskInstanceView(
            key,
            task,
            reader,
            hostname=hostname,
            pid=pid,
            max_xcom_mb=settings.core.max_xcom_mb,
            max_map_length=settings.core.max_map_length,
        )
        try:
            context = build_context(dag, task, run, ti, reader)
        except ParamValidationError as exc:
            raise CannotRun(str(exc), retryable=False) from None
        if is_rescheduling_sensor(task):
            context.update(sensor_state(*reader.reschedules(key)))
        services, cross_dag = try_services(task, settings)
        context.update(services)
        next_method, next_kwargs = _resumption(workload, reader)
    except (SQLAlchemyError, DatabaseError) as exc:
        reader.close()
        raise CannotRun(
            f"cannot read the metastore: {execute.summary(exc)}", retryable=True
        ) from None
    except BaseException:
        reader.close()
        raise
    return Prepared(task, ti, context, reader, cross_dag, next_method, next_kwargs)


def _resumption(
    workload: Workload, reader: MetastoreReader
) -> tuple[str | None, dict[str, Any] | None]:
    """Where the try goes on: the workload says so when the scheduler built it; a try started
    without the scheduler's data (``tasks run`` from a pod or by hand) reads its row."""
    if workload.next_method is not None:
        return workload.next_method, dict(workload.next_kwargs or {})
    if workload.run is not None:
        return None, None
    return reader.next_method(workload.key)
