"""DAG-level callbacks (``on_success_callback`` / ``on_failure_callback`` of a DAG).

They are user code, so they run in a process of their own, started by the scheduler when a run
finishes: ``python -m tradewind.runtime.dag_callbacks DAG_FILE DAG_ID RUN_ID success|failed``
(settings from the environment the scheduler passes). The output goes to the run's log folder,
``dag_id=.../run_id=.../dag_callback.log``. A callback that raises is logged; nothing else
changes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.parsing import loader
from tradewind.runtime import logs
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.settings import Settings, load_settings

if TYPE_CHECKING:
    from tradewind.authoring.dag import DAG
    from tradewind.runtime.context import DagRunView

log = logging.getLogger(__name__)


def callback_log_path(base: Path, dag_id: str, run_id: str, name: str = "dag_callback.log") -> Path:
    return base / f"dag_id={dag_id}" / f"run_id={run_id.replace('/', '%2F')}" / name


def find_dag(dag_file: Path, dag_id: str) -> DAG | None:
    """The DAG ``dag_id`` of the file, imported in this process (None, logged: not there)."""
    imported = loader.import_dags(dag_file)
    dag = next((d for d in imported.dags if d.dag_id == dag_id), None)
    if dag is None:
        log.error("DAG %s is not in %s; no callback runs", dag_id, dag_file)
    return dag


def run_context(dag: DAG, run: DagRunView | None, run_id: str, reason: str) -> dict[str, Any]:
    """The context of a run's callback (a DAG callback, a deadline alert's)."""
    return {
        "dag": dag,
        "dag_run": run,
        "run_id": run_id,
        "logical_date": run.logical_date if run else None,
        "ds": run.logical_date.strftime("%Y-%m-%d") if run else None,
        "params": dag.resolve_params(run.conf if run else None),
        "reason": reason,
    }


def run_dag_callback(
    settings: Settings, dag_file: Path, dag_id: str, run_id: str, outcome: str
) -> int:
    """Call the DAG's callback for ``outcome`` with a context; 0 when it ran or none exists."""
    masker = SecretsMasker()
    path = callback_log_path(settings.logging.base_log_folder, dag_id, run_id)
    with logs.TryLog(path, masker, settings.logging.level):
        dag = find_dag(dag_file, dag_id)
        if dag is None:
            return 1
        callbacks = dag.on_success_callback if outcome == "success" else dag.on_failure_callback
        if not callbacks:
            return 0
        engine = engine_module.create_engine(settings.database)
        reader = MetastoreReader(engine, crypto.Cipher(settings.core.fernet_key), masker)
        try:
            run = reader.dag_run(dag_id, run_id)
        finally:
            reader.close()
            engine.dispose()
        context = run_context(dag, run, run_id, outcome)
        failed = False
        for callback in callbacks:
            try:
                callback(context)
            except Exception:
                failed = True
                log.exception("the DAG's %s callback raised", outcome)
        log.info("DAG %s callback for run %s done", outcome, run_id)
        return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    if len(argv) != 4 or argv[3] not in ("success", "failed"):
        print("usage: python -m tradewind.runtime.dag_callbacks FILE DAG_ID RUN_ID success|failed")
        return 2
    dag_file, dag_id, run_id, outcome = argv
    return run_dag_callback(load_settings(), Path(dag_file), dag_id, run_id, outcome)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
