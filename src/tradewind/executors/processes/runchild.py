"""Run one task try in this (fresh) process with the runner named on the command line.

``python -m tradewind.executors.processes.runchild RUNNER REPORT_FD WORKLOAD_FD``

The sequential executor starts this instead of ``tradewind tasks run`` when it was given a
runner other than the default one (tests use a scripted runner). The Settings come from the
environment the executor set up, the workload (JSON) from the file WORKLOAD_FD; the exit code
is the one :func:`run_try` chooses.
"""

from __future__ import annotations

import json
import sys

from tradewind.executors.base import ExecutorError, LineChannel
from tradewind.executors.processes import handover
from tradewind.executors.processes.runners import load_runner, run_try
from tradewind.settings import SettingsError, load_settings
from tradewind.workloads import Workload

USAGE = "usage: python -m tradewind.executors.processes.runchild RUNNER REPORT_FD WORKLOAD_FD"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    runner_path, fd_text, workload_fd = argv
    try:
        settings = load_settings()
        runner = load_runner(runner_path)
        workload = Workload.from_json(json.loads(handover.read_file(int(workload_fd))))
        fd = int(fd_text)
    except (ExecutorError, SettingsError, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"tradewind: cannot run the try: {exc}", file=sys.stderr)
        return 2
    return run_try(runner, workload, LineChannel(fd), settings)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
