"""Finding and importing the DAG file that defines the task a try runs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tradewind.exceptions import TradewindError
from tradewind.parsing import discover, loader

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG


class DagLoadError(TradewindError):
    """The DAG file is missing, fails to import, or does not define the DAG."""


def load_task(dag_file: Path, dag_id: str, task_id: str) -> tuple[DAG, BaseOperator]:
    """Import ``dag_file`` and return the DAG and its task; TaskNotFound for a bad task id."""
    if not dag_file.is_file():
        raise DagLoadError(f"DAG file {dag_file} does not exist")
    imported = loader.import_dags(dag_file)
    for dag in imported.dags:
        if dag.dag_id == dag_id:
            return dag, dag.get_task(task_id)
    problems = "; ".join(error.message for error in imported.errors)
    raise DagLoadError(
        f"DAG {dag_id!r} is not defined in {dag_file}" + (f" ({problems})" if problems else "")
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
