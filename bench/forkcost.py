"""What a no-op try costs in a process of its own, against the same work in this process.

Run from the repository root with the project's interpreter::

    .venv/bin/python bench/forkcost.py             # 200 tries of each kind
    .venv/bin/python bench/forkcost.py --smoke     # 10 of each: checks that the bench works

This process is warmed as the fork server is (the runner's ``warm_up``, then the DAG file
imported as a warm process does), in a throwaway home whose metastore is never read: each
workload carries its run's data, as the scheduler's do. Then, for the fork server's own
rehearsal task (a no-op PythonOperator, see ``tradewind.runtime.rehearsal``):

- ``inproc``: the task runner runs the try in this process (log file, context, task, reports);
- ``fork``: a child forked from here runs the same, as a try does (the time includes the fork,
  the child's run and exit, and reaping it);
- ``fork_only``: a child that exits at once.

Printed per kind: the median and p90 wall time, and for the forked ones the child's CPU time
and minor page faults (``wait4``), which tell the copy-on-write cost of a forked try apart
from the work itself. Nothing is written.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class _Sink:
    def send(self, message: Mapping[str, Any]) -> None:
        del message


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="10 tries of each kind")
    count = 10 if parser.parse_args().smoke else 200
    from tradewind.runtime import rehearsal

    with tempfile.TemporaryDirectory(prefix="tradewind-forkcost-") as tmp:
        home = Path(tmp)
        (home / "dags").mkdir()
        dag_file = home / "dags" / "forkcost.py"
        dag_file.write_text(rehearsal.DAG_FILE)
        os.environ.update(
            TRADEWIND_HOME=str(home),
            TRADEWIND__CORE__DAGS_FOLDER=str(home / "dags"),
            TRADEWIND__CORE__LOAD_EXAMPLES="false",
            TRADEWIND__DATABASE__URL=f"sqlite:///{home / 'unused.db'}",
        )
        for kind in ("inproc", "fork", "fork_only"):
            _report(kind, _measure(kind, str(dag_file), count))


def _measure(kind: str, dag_file: str, count: int) -> list[tuple[float, float, int]]:
    from tradewind.executors.base import LineChannel
    from tradewind.executors.processes import runners
    from tradewind.runtime import rehearsal, runner
    from tradewind.settings import load_settings

    settings = load_settings()
    runner.warm_up(settings)
    hook = runners.warm_file_hook("tradewind.runtime.runner")
    if hook is not None:
        hook(dag_file)
    gc.freeze()
    found: list[tuple[float, float, int]] = []
    for n in range(count):
        workload = rehearsal.workload(dag_file, n + 1)
        began = time.perf_counter()
        if kind == "inproc":
            runner.run_workload(workload, _Sink(), settings)
            found.append(((time.perf_counter() - began) * 1000, 0.0, 0))
            continue
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                if kind == "fork":
                    runner.run_workload(workload, LineChannel(write_end), settings)
            finally:
                os._exit(0)
        os.close(write_end)
        while os.read(read_end, 65536):
            pass
        os.close(read_end)
        _, _, usage = os.wait4(pid, 0)
        cpu = (usage.ru_utime + usage.ru_stime) * 1000
        found.append(((time.perf_counter() - began) * 1000, cpu, usage.ru_minflt))
    return found


def _report(kind: str, found: list[tuple[float, float, int]]) -> None:
    wall = [w for w, _, _ in found]
    median, p90 = statistics.median(wall), _percentile(wall, 0.9)
    line = f"{kind:10} wall median {median:6.2f} ms, p90 {p90:6.2f}, first {wall[0]:6.2f}"
    if kind != "inproc":
        cpu = statistics.median(c for _, c, _ in found)
        faults = statistics.median(f for _, _, f in found)
        line += f"; child CPU {cpu:5.2f} ms, minor faults {faults:.0f}"
    print(line, flush=True)


if __name__ == "__main__":
    main()
