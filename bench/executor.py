"""Executor benchmark: how fast the local executor starts a no-op try.

Run from the repository root with the project's interpreter::

    .venv/bin/python bench/executor.py            # 200 tries
    .venv/bin/python bench/executor.py --smoke    # 10 tries: checks that the bench works

Uses the local executor with the scripted runner's ``ok`` behaviour (a try that reports
running, then success), so it measures the executor and fork server alone:

- latency: one try at a time, submit -> RUNNING event and submit -> FINISHED event
  (the process reaped too is not waited for); median and p95 in milliseconds;
- burst: as many tries submitted at once, with ``parallelism`` slots; tries per second until
  the last FINISHED event.

Results are printed and written to bench/results/executor-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradewind.executors.local import LocalExecutor
from tradewind.reports import Kind
from tradewind.settings import load_settings
from tradewind.testing import SCRIPTED_RUNNER, make_workload

RESULTS = Path(__file__).parent / "results"
WARM_UP = 10


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency(executor: LocalExecutor, tries: int) -> dict[str, float]:
    to_running: list[float] = []
    to_finished: list[float] = []
    for number in range(WARM_UP + tries):
        workload = make_workload(f"ok_{number}")
        started = time.perf_counter()
        executor.submit(workload)
        running = finished = None
        while finished is None:
            for event in executor.poll(10):
                if event.kind == Kind.RUNNING:
                    running = time.perf_counter()
                elif event.kind == Kind.FINISHED:
                    finished = time.perf_counter()
        if number >= WARM_UP and running is not None:
            to_running.append((running - started) * 1000)
            to_finished.append((finished - started) * 1000)
    # Let the last try's exit be reaped so the next phase starts with free slots.
    while executor.free_slots < executor.capacity:
        executor.poll(1)
    return {
        "submit_to_running_median_ms": statistics.median(to_running),
        "submit_to_running_p95_ms": percentile(to_running, 0.95),
        "submit_to_finished_median_ms": statistics.median(to_finished),
        "submit_to_finished_p95_ms": percentile(to_finished, 0.95),
    }


def burst(executor: LocalExecutor, tries: int) -> dict[str, float]:
    workloads = [make_workload(f"ok_burst_{n}") for n in range(tries)]
    started = time.perf_counter()
    for workload in workloads:
        executor.submit(workload)
    left = {w.key for w in workloads}
    while left:
        for event in executor.poll(10):
            if event.kind == Kind.FINISHED:
                left.discard(event.key)
    seconds = time.perf_counter() - started
    return {
        "burst_tries": tries,
        "burst_seconds": seconds,
        "burst_tries_per_second": tries / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="10 tries, no results file")
    args = parser.parse_args()
    tries = 10 if args.smoke else args.tries
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(
            environ={}, home=Path(home), overrides={"core": {"parallelism": args.parallelism}}
        )
        executor = LocalExecutor(settings, runner=SCRIPTED_RUNNER)
        began = time.perf_counter()
        executor.start()
        start_ms = (time.perf_counter() - began) * 1000
        try:
            figures: dict[str, Any] = {"executor_start_ms": start_ms}
            figures.update(latency(executor, tries))
            figures.update(burst(executor, tries))
        finally:
            executor.close()
    result = {
        "bench": "executor",
        "at": datetime.now(UTC).isoformat(),
        "machine": platform.platform(),
        "tries": tries,
        "parallelism": args.parallelism,
        **figures,
    }
    for name, value in figures.items():
        print(f"{name:32} {value:10.2f}" if isinstance(value, float) else f"{name:32} {value:10}")
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS / f"executor-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
