"""``tasks test``: find a task and run it once here, recording nothing.

The task's DAG comes from the given file, else from where it was registered, else (with no
usable metastore) from a search of the DAGs folders. Variables, connections and XComs are read
from the metastore when it is usable; without one the task runs all the same.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from tradewind.authoring import templating
from tradewind.authoring.mapped import is_mapped
from tradewind.exceptions import ParamValidationError, TaskNotFound, TradewindError
from tradewind.metastore import crypto, schema
from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import DatabaseError
from tradewind.parsing import processor
from tradewind.runtime import dagfile, execute, inprocess, locate, lookups, mapping, rendered
from tradewind.runtime.context import DagRunView, build_context
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.runtime.taskinstance import TaskInstanceView
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG

# Outcomes that are not failures of the task.
OK_STATES = frozenset({TaskState.SUCCESS, TaskState.SKIPPED, TaskState.UP_FOR_RESCHEDULE})


class DagNotFound(TradewindError):
    """No DAG file under the searched folders defines this DAG."""


class MapIndexError(TradewindError):
    """``--map-index`` given for a task that is not mapped, or left out for one that is."""


# What run_test raises about its input: a one-line message for the user, not a crash.
USER_ERRORS: tuple[type[Exception], ...] = (
    crypto.CryptoError,
    DatabaseError,
    dagfile.DagLoadError,
    TaskNotFound,
    locate.DagNotRegistered,
    DagNotFound,
    ParamValidationError,
    MapIndexError,
)


@dataclass(frozen=True)
class TaskTestResult:
    run_id: str
    state: TaskState
    return_value: str | None  # as JSON, secrets masked
    error: str | None

    @property
    def ok(self) -> bool:
        return self.state in OK_STATES


def run_test(
    settings: Settings,
    dag_id: str,
    task_id: str,
    *,
    logical_date: datetime,
    conf: Mapping[str, Any],
    dag_file: str | None,
    note: Callable[[str], None],
    map_index: int = -1,
) -> TaskTestResult:
    """Run ``dag_id.task_id`` (instance ``map_index`` of a mapped task) for a transient run at
    ``logical_date``; ``note`` is told when the metastore is not usable. Raises one of
    USER_ERRORS when the input is wrong."""
    with _prepared(
        settings,
        dag_id,
        task_id,
        logical_date=logical_date,
        conf=conf,
        dag_file=dag_file,
        note=note,
        map_index=map_index,
    ) as found:
        outcome = inprocess.run_in_process(
            found.dag,
            found.task,
            found.run,
            found.reader,
            level=settings.logging.level,
            settings=settings,
            map_index=map_index,
        )
    returned = None
    if outcome.return_value is not None:
        returned = found.masker.mask(json.dumps(outcome.return_value))
    return TaskTestResult(found.run.run_id, outcome.state, returned, outcome.error)


@dataclass(frozen=True)
class _Prepared:
    """What a test of one task works with: the task of its DAG, a transient run, and a reader
    of the metastore (none when it is not usable) with the masker of what it read."""

    dag: DAG
    task: BaseOperator
    run: DagRunView
    reader: MetastoreReader
    masker: SecretsMasker


@contextmanager
def _prepared(
    settings: Settings,
    dag_id: str,
    task_id: str,
    *,
    logical_date: datetime,
    conf: Mapping[str, Any],
    dag_file: str | None,
    note: Callable[[str], None],
    map_index: int,
) -> Iterator[_Prepared]:
    """The task found and its transient run made, as a real try would find them; the
    metastore's engine is closed afterwards."""
    # Helper modules (and triggers) beside the DAG files import as they do in a real try.
    folder = str(settings.core.dags_folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    masker = SecretsMasker()
    engine = engine_module.create_engine(settings.database)
    try:
        usable = _usable(engine, note)
        dag, task = _load(settings, usable, dag_id, task_id, dag_file)
        _check_map_index(task, map_index)
        reader = MetastoreReader(usable, crypto.Cipher(settings.core.fernet_key), masker)
        run = inprocess.transient_run(dag, logical_date, conf)
        yield _Prepared(dag, task, run, reader, masker)
    finally:
        engine.dispose()


def _check_map_index(task: BaseOperator, map_index: int) -> None:
    if is_mapped(task) and map_index < 0:
        raise MapIndexError(
            f"task {task.task_id!r} is mapped: choose one of its instances with --map-index"
        )
    if not is_mapped(task) and map_index >= 0:
        raise MapIndexError(f"task {task.task_id!r} is not mapped: leave out --map-index")


def _usable(engine: Engine, note: Callable[[str], None]) -> Engine | None:
    status = schema.check_db(engine)
    if status.problem or status.current is None or not status.up_to_date:
        reason = status.problem or "it is not initialised or not at head"
        note(
            f"Note: the metastore is not usable ({reason}); variables, connections and XComs "
            "are not available."
        )
        return None
    return engine


def _load(
    settings: Settings, engine: Engine | None, dag_id: str, task_id: str, dag_file: str | None
) -> tuple[DAG, BaseOperator]:
    if dag_file is not None:
        return dagfile.load_task(Path(dag_file), dag_id, task_id)
    if engine is not None:
        with engine_module.session_factory(engine)() as session:
            fileloc = locate.registered_fileloc(session, dag_id)
        return dagfile.load_task(Path(fileloc), dag_id, task_id)
    folders = [settings.core.dags_folder]
    if settings.core.load_examples:
        folders.append(processor.example_dags_folder())
    dag = dagfile.find_dag(dag_id, folders)
    if dag is None:
        raise DagNotFound(f"no DAG {dag_id!r} found under {', '.join(str(f) for f in folders)}")
    return dag, dag.get_task(task_id)


class RenderError(TradewindError):
    """A template of the task failed to render."""


def render_task(
    settings: Settings,
    dag_id: str,
    task_id: str,
    *,
    logical_date: datetime,
    conf: Mapping[str, Any],
    dag_file: str | None,
    note: Callable[[str], None],
    map_index: int = -1,
) -> dict[str, Any]:
    """The task's template fields rendered for a transient run at ``logical_date`` (as JSON,
    known secrets masked), found and given the context as :func:`run_test` does; the task
    does not run. Raises one of USER_ERRORS, or RenderError, when the input is wrong."""
    with _prepared(
        settings,
        dag_id,
        task_id,
        logical_date=logical_date,
        conf=conf,
        dag_file=dag_file,
        note=note,
        map_index=map_index,
    ) as found:
        dag, task, run, reader = found.dag, found.task, found.run, found.reader
        key = TaskKey(dag.dag_id, run.run_id, task.task_id, map_index)
        ti = TaskInstanceView(key, task, reader, hostname=socket.gethostname(), pid=os.getpid())
        context = build_context(dag, task, run, ti, reader, test_mode=True)
        with lookups.reading_from(reader, settings):
            try:
                instance = copy.copy(mapping.instance_of(task, context))
                templating.render_template_fields(instance, context)
            except Exception as exc:  # any error of a template or of user code it calls
                why = found.masker.mask(execute.summary(exc))
                raise RenderError(f"cannot render the templates of {task_id!r}: {why}") from None
    return rendered.for_report(rendered.snapshot(instance) or {}, found.masker)
