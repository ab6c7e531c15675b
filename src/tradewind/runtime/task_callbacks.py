"""The alerts of tries that failed outside their own process, in a process of their own.

A try whose process was killed (a signal, the OOM killer), whose worker went silent or that its
executor stopped at its timeout never got to run its ``on_failure_callback`` /
``on_retry_callback`` or to send its ``email_on_failure`` / ``email_on_retry`` mail. As
Airflow files a task callback request for such a try, the scheduler starts
``python -m tradewind.runtime.task_callbacks REQUESTS`` (settings from the environment it
passes), ``REQUESTS`` being a JSON list of requests (see :class:`Request`; the scheduler's side is
:class:`tradewind.scheduler.callbacks.TaskCallback`). For each, this loads the
task from its DAG file, builds the try's context (``ti``, ``dag_run``, ...) with ``exception``
saying why the try failed, and runs what the runner would have run for that failure. The
output is appended to the try's own log when that is in this host's log folder; a try that ran
elsewhere (a Celery worker, a pod) keeps its log there, and the output goes beside it, to
``attempt=<n>.alerts.log`` (a file of the try's name here would hide the worker's from the UI).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections.abc import Sequence

from tradewind import tasklogs
from tradewind.runtime import execute, logs, lookups, runner
from tradewind.runtime.masking import SecretsMasker
from tradewind.settings import Settings, load_settings
from tradewind.workloads import TaskAlerts, Workload

log = logging.getLogger(__name__)


Request = TaskAlerts


def run_request(settings: Settings, request: Request) -> int:
    """Run the alerts of one try, logged to the try's log; 0 when they ran."""
    masker = SecretsMasker()
    key = request.key
    path = tasklogs.log_path(settings.logging.base_log_folder, key)
    if not path.exists():
        path = path.with_name(f"{path.stem}.alerts.log")
    with logs.TryLog(path, masker, settings.logging.level):
        what = "retry" if request.retry else "failure"
        log.warning(
            "The try failed outside its process (%s): running its %s alerts", request.error, what
        )
        workload = Workload(key, request.dag_file)
        try:
            prepared = runner.prepare(workload, settings, masker, socket.gethostname(), os.getpid())
        except runner.CannotRun as exc:
            log.error("The %s alerts cannot run: %s", what, exc)
            return 1
        except Exception:
            log.exception("The %s alerts cannot run", what)
            return 1
        try:
            with lookups.reading_from(prepared.reader, settings):
                execute.failure_callbacks(
                    prepared.task, prepared.context, request.error, retry=request.retry
                )
        finally:
            prepared.close()
        log.info("The %s alerts of the try are done", what)
        return 0


def main(argv: Sequence[str]) -> int:
    try:
        if len(argv) != 1:
            raise ValueError("one argument expected")
        requests = [Request.from_json(raw) for raw in json.loads(argv[0])]
    except (ValueError, KeyError, TypeError) as exc:
        print(f"usage: python -m tradewind.runtime.task_callbacks REQUESTS_JSON ({exc})")
        return 2
    settings = load_settings()
    runner.import_from_dags_folder(settings)
    failed = 0
    for request in requests:
        failed += run_request(settings, request)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
