"""``tradewind tasks run``: run one try for an executor, reporting as JSON lines.

Each try a pod or a subprocess starts imports this module, and its start is the try's start:
import nothing here that running a try does not need.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn

import click

from tradewind.cli._common import get_settings, registered_fileloc
from tradewind.executors.base import REPORT_TAG, LineChannel
from tradewind.runtime import runner
from tradewind.workloads import TaskKey, Workload


def _report_fd(report_fd: int | None) -> int:
    if report_fd is None:
        # The runner points fd 1 at the log file: keep the original stdout for the messages.
        return os.dup(1)
    try:
        os.fstat(report_fd)
    except OSError:
        raise click.ClickException(f"--report-fd {report_fd} is not an open file") from None
    # Subprocesses of the task must not hold the report pipe open after the try ends.
    os.set_inheritable(report_fd, False)
    return report_fd


@click.command()
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_id")
@click.option("--try-number", default=1, show_default=True, type=click.IntRange(1))
@click.option("-m", "--map-index", default=-1, show_default=True, type=click.IntRange(-1))
@click.option("--dag-file", help="The DAG file (default: where the DAG was registered from).")
@click.option(
    "--report-fd", type=click.IntRange(0), help="Write the messages here (default: stdout)."
)
@click.option(
    "--log-to-stdout",
    is_flag=True,
    help="The try's log goes to stdout instead of its file, the messages there too, each line "
    f"after {REPORT_TAG!r} (what a pod runs: its log is the try's log).",
)
def run(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    try_number: int,
    map_index: int,
    dag_file: str | None,
    report_fd: int | None,
    log_to_stdout: bool,
) -> None:
    """Run one try of a task instance, reporting as JSON lines (what executors start)."""
    settings = get_settings()
    if dag_file is None:
        dag_file = registered_fileloc(dag_id)
    tag = REPORT_TAG if log_to_stdout and report_fd is None else ""
    channel = LineChannel(_report_fd(report_fd), tag=tag)
    key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
    workload = Workload(key=key, dag_file=dag_file)
    runner.run_workload(workload, channel, settings, log_to_stdout=log_to_stdout)
    _end_now()


def _end_now() -> NoReturn:
    """End as a forked try ends: exit handlers run and output flushed, then out, without the
    interpreter's teardown of all the try imported (some 0.1 s that a pod's end waits for)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)
