"""A rehearsal: a built-in no-op try, run a few times in the process that forks tries, before
it forks any.

A forked try pays a copy-on-write fault for every page it writes, and the interpreter writes
to the code it runs for the first time (Python 3.11 specialises it in place). Code the parent
ran before the fork is specialised already in every child: with the runner's path run here,
each try's process takes about 0.6 ms less CPU (bench/README.md, "What a forked try costs").

The rehearsal leaves nothing of the user's touched: its DAG file and its log are in a
temporary folder removed at once, its run's data is handed over (the metastore is not read),
traces are off for it, and its reports go nowhere. Should it fail, that is logged and the
tries run as they would have.
"""

from __future__ import annotations

import gc
import logging
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tradewind.executors.base import Channel
from tradewind.settings import Settings
from tradewind.workloads import TaskKey, Workload

log = logging.getLogger(__name__)

# Enough for the first specialisations; more changed nothing measurable (1, 3, 10 and 30 alike).
TIMES = 3
DAG_ID = "tradewind_rehearsal"
DAG_FILE = f"""
from datetime import datetime, timezone

from tradewind import DAG
from tradewind.operators import PythonOperator


def nothing():
    return None


with DAG("{DAG_ID}", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
    PythonOperator(task_id="nothing", python_callable=nothing)
"""
MOMENT = "2024-01-01T00:00:00+00:00"

Run = Callable[[Workload, Channel, Settings], None]


class _Nowhere:
    """Keeps only the last report (to tell whether the rehearsal went through)."""

    def __init__(self) -> None:
        self.last: Mapping[str, Any] = {}

    def send(self, message: Mapping[str, Any]) -> None:
        self.last = message


def rehearse(settings: Settings, run: Run, times: int = TIMES) -> bool:
    """Run the built-in no-op try ``times`` times with ``run`` (the runner's run_workload);
    whether each one succeeded."""
    succeeded = 0
    try:
        with tempfile.TemporaryDirectory(prefix="tradewind-rehearsal-") as folder:
            dag_file = Path(folder) / "rehearsal.py"
            dag_file.write_text(DAG_FILE, encoding="utf-8")
            quiet = _settings(settings, Path(folder) / "logs")
            for number in range(1, times + 1):
                channel = _Nowhere()
                run(workload(str(dag_file), number), channel, quiet)
                succeeded += channel.last.get("state") == "success"
    except Exception:
        log.warning("the rehearsal of a try failed; tries run unrehearsed", exc_info=True)
    gc.collect()
    return succeeded == times


def _settings(settings: Settings, logs: Path) -> Settings:
    return settings.model_copy(
        update={
            "logging": settings.logging.model_copy(update={"base_log_folder": logs}),
            "traces": settings.traces.model_copy(update={"otel_on": False}),
        }
    )


def workload(dag_file: str, try_number: int) -> Workload:
    """Try ``try_number`` of the rehearsal's task, its DAG defined in ``dag_file`` (the text
    of :data:`DAG_FILE`), with its run's data."""
    run_id = "rehearsal"
    run = {
        "dag_id": DAG_ID,
        "run_id": run_id,
        "logical_date": MOMENT,
        "data_interval_start": MOMENT,
        "data_interval_end": MOMENT,
        "run_type": "manual",
        "conf": {},
        "start_date": MOMENT,
        "external_trigger": True,
        "id": 0,
        "previous_success": None,
    }
    return Workload(TaskKey(DAG_ID, run_id, "nothing", -1, try_number), dag_file, run=run)
