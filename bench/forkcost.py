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
- ``bare``: a child that does the least a try in a process of its own can do: calls the task's
  callable, writes one log line and one JSON report line, exits;
- ``bare_lean``: the same, forked from a fresh interpreter that imported only the DAG file (the
  authoring layer, none of the runner's stack): what a try would cost from the leanest process
  to fork from;
- ``fork_only``: a child that exits at once.

Printed per kind: the median and p90 wall time, and for the forked ones the child's CPU time
and minor page faults (``wait4``), which tell the copy-on-write cost of a forked try apart from
the work itself, and the time of the parent's ``os.fork()`` call. Nothing is kept.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Sample = tuple[float, float, int, float]  # wall ms, child CPU ms, minor faults, fork() ms


class _Sink:
    def send(self, message: Mapping[str, Any]) -> None:
        del message


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="10 tries of each kind")
    parser.add_argument("--lean", metavar="DAG_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    count = 10 if args.smoke else 200
    if args.lean:  # the fresh interpreter of bare_lean: nothing imported but the DAG file
        _report("bare_lean", _measure_bare(_task(args.lean), count, Path(args.lean).parent))
        return
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
        lean = [sys.executable, __file__, "--lean", str(dag_file)] + ["--smoke"] * args.smoke
        subprocess.run(lean, check=True)
        for kind in ("inproc", "fork", "fork_only"):
            _report(kind, _measure(kind, str(dag_file), count))
        _report("bare", _measure_bare(_task(str(dag_file)), count, home))


def _task(dag_file: str) -> Any:
    """The DAG file's one task, the file imported as a module (no parsing machinery)."""
    spec = importlib.util.spec_from_file_location("forkcost_dag", dag_file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    from tradewind.authoring import capture

    with capture.capture() as captured:
        spec.loader.exec_module(module)
    (dag,) = captured.dags
    return dag.tasks[0]


def _measure_bare(task: Any, count: int, folder: Path) -> list[Sample]:
    def bare(write_end: int, log_path: Path) -> None:
        with open(log_path, "a") as log:
            log.write(f"{time.time()} running {task.task_id}\n")
            result = task.python_callable()
        report = {"state": "success", "result": result, "at": time.time()}
        os.write(write_end, json.dumps(report).encode() + b"\n")

    gc.collect()
    gc.freeze()
    return [_forked(lambda end, n=n: bare(end, folder / f"bare-{n % 4}.log")) for n in range(count)]


def _measure(kind: str, dag_file: str, count: int) -> list[Sample]:
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
    found: list[Sample] = []
    for n in range(count):
        workload = rehearsal.workload(dag_file, n + 1)
        if kind == "inproc":
            began = time.perf_counter()
            runner.run_workload(workload, _Sink(), settings)
            found.append(((time.perf_counter() - began) * 1000, 0.0, 0, 0.0))
        elif kind == "fork":
            found.append(
                _forked(lambda end, w=workload: runner.run_workload(w, LineChannel(end), settings))
            )
        else:
            found.append(_forked(lambda end: None))
    return found


def _forked(child: Callable[[int], None]) -> Sample:
    """Fork a child that runs ``child`` with the write end of a pipe and exits; read the pipe
    until the child closes it, and reap the child."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    began = time.perf_counter()
    pid = os.fork()
    forked = (time.perf_counter() - began) * 1000
    if pid == 0:
        try:
            os.close(read_end)
            child(write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    while os.read(read_end, 65536):
        pass
    os.close(read_end)
    _, _, usage = os.wait4(pid, 0)
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    return ((time.perf_counter() - began) * 1000, cpu, usage.ru_minflt, forked)


def _report(kind: str, found: list[Sample]) -> None:
    wall = [w for w, _, _, _ in found]
    median, p90 = statistics.median(wall), _percentile(wall, 0.9)
    line = f"{kind:10} wall median {median:6.2f} ms, p90 {p90:6.2f}, first {wall[0]:6.2f}"
    if kind != "inproc":
        cpu = statistics.median(c for _, c, _, _ in found)
        faults = statistics.median(f for _, _, f, _ in found)
        forked = statistics.median(k for _, _, _, k in found)
        line += f"; child CPU {cpu:5.2f} ms, minor faults {faults:.0f}, fork() {forked:4.2f} ms"
    print(line, flush=True)


if __name__ == "__main__":
    main()
