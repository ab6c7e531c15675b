"""Finding and importing the DAG file that defines the task a try runs.

A process that forks tries (a warm process, :mod:`tradewind.executors.processes.warm`) may
import a DAG file ahead of them (:func:`preload`); each try forked from it then finds its DAG
already built, as long as the file has not changed since (by the warm processes' own
:func:`~tradewind.executors.processes.warm.file_signature`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tradewind.authoring import mapped, templating
from tradewind.exceptions import TradewindError
from tradewind.executors.processes.warm import Signature, file_signature
from tradewind.parsing import discover, loader
from tradewind.runtime import context
from tradewind.workloads import TaskKey, Workload

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG


class DagLoadError(TradewindError):
    """The DAG file is missing, fails to import, or does not define the DAG."""


# DAG files imported ahead of their tries: path -> (its mtime and size then, what it defined).
_preloaded: dict[str, tuple[Signature, loader.ImportedFile]] = {}


def preload(dag_file: Path) -> list[str]:
    """Import ``dag_file`` now for the tries that will be forked from this process.

    Returns the files whose change makes this import stale: the DAG file and the modules of
    the user's own code that it imported (not the standard library, installed packages or
    tradewind itself).
    """
    before = set(sys.modules)
    found = file_signature(dag_file)
    imported = loader.import_dags(dag_file)
    if found is not None:
        _preloaded[str(dag_file)] = (found, imported)
    for dag in imported.dags:
        _prime(dag)
    files = [str(dag_file)]
    for name in set(sys.modules) - before:
        path = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(path, str) and _is_user_code(path):
            files.append(path)
    return files


def _prime(dag: DAG) -> None:
    """What every try of ``dag`` looks up, found once here for the tries forked from here."""
    mapped.expanded_values(dag)
    templating.template_environment(dag)
    for task in dag.task_dict.values():
        # Checks against abstract classes walk all their subclasses the first time a type
        # is seen: logging's check of a lone argument (a try logs its task) and the sensor check.
        isinstance(task, Mapping)
        context.is_rescheduling_sensor(task)


# Where code that is not the user's lives: the interpreter's and tradewind's own folders.
_INSTALLED = tuple(
    {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parent.parent)}
)


def _is_user_code(path: str) -> bool:
    return not any(path.startswith(root + os.sep) for root in _INSTALLED)


def load_task(dag_file: Path, dag_id: str, task_id: str) -> tuple[DAG, BaseOperator]:
    """Import ``dag_file`` and return the DAG and its task; TaskNotFound for a bad task id."""
    if not dag_file.is_file():
        raise DagLoadError(f"DAG file {dag_file} does not exist")
    cached = _preloaded.get(str(dag_file))
    if cached is not None and cached[0] == file_signature(dag_file):
        imported = cached[1]
    else:
        imported = loader.import_dags(dag_file)
    for dag in imported.dags:
        if dag.dag_id == dag_id:
            return dag, dag.get_task(task_id)
    problems = "; ".join(error.message for error in imported.errors)
    raise DagLoadError(
        f"DAG {dag_id!r} is not defined in {dag_file}" + (f" ({problems})" if problems else "")
    )


def workload_of(dag_file: str, key: TaskKey) -> Workload:
    """The workload of try ``key`` of a task of ``dag_file``, with the task's priority, queue
    and executor_config (what ``kubernetes generate-pod-yaml`` shows the pod of)."""
    _, task = load_task(Path(dag_file), key.dag_id, key.task_id)
    return Workload(
        key,
        dag_file,
        priority_weight=task.priority_weight,
        queue=task.queue,
        executor_config=task.executor_config,
    )


def find_dag(dag_id: str, folders: Iterable[Path]) -> DAG | None:
    """The DAG ``dag_id`` from the first file under ``folders`` that defines it.

    Only files whose text contains the id are imported, so a search imports few files.
    """
    needle = dag_id.encode()
    for folder in folders:
        for path in discover.iter_python_files(folder):
            try:
                if needle not in path.read_bytes():
                    continue
            except OSError:
                continue
            for dag in loader.import_dags(path).dags:
                if dag.dag_id == dag_id:
                    return dag
    return None
