"""Parse benchmark: how long until 200 DAG files of 20 tasks are registered, and a re-scan.

Run from the repository root with the project's interpreter::

    .venv/bin/python bench/parse.py                 # SQLite metastore in a temp folder
    .venv/bin/python bench/parse.py --db postgres   # a fresh database on the local server
    .venv/bin/python bench/parse.py --smoke         # 5 files, once: checks that the bench works

Timed as a user would see it, with real ``tradewind`` processes:

- cli cold: ``tradewind dag-processor --once`` on an empty metastore until every DAG is
  registered (the metastore is reset before each repeat, outside the timing);
- cli unchanged: the same command again with nothing changed (the cost of a re-scan);

and in-process, without interpreter start-up: ``DagProcessor.scan()`` cold and unchanged.
Results are printed as a table and written to bench/results/parse-<db>-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import DagModel, ParseImportError
from tradewind.parsing.processor import DagProcessor
from tradewind.settings import Settings, load_settings

RESULTS = Path(__file__).parent / "results"
SERVERS = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
TASKS = 20

HEADER = """\
from datetime import datetime, timedelta

from tradewind import DAG, task
from tradewind.operators import EmptyOperator, PythonOperator


def noop(**context):
    return None

"""

# Four shapes of 20 tasks each, so that the set mixes long chains, wide fan-outs, classic
# operators and TaskFlow functions passing XComs.
SHAPES = {
    "chain": """
with DAG("{dag_id}", schedule="@daily", start_date=datetime(2024, 1, 1), tags=["bench"]):
    previous = None
    for n in range({tasks}):
        step = PythonOperator(task_id=f"step_{{n}}", python_callable=noop)
        if previous is not None:
            previous >> step
        previous = step
""",
    "fanout": """
with DAG("{dag_id}", schedule=timedelta(hours=1), start_date=datetime(2024, 1, 1)):
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    for n in range({tasks} - 2):
        start >> PythonOperator(task_id=f"work_{{n}}", python_callable=noop) >> end
""",
    "taskflow_chain": """
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1), tags=["bench"]):

    @task
    def step(value: int) -> int:
        return value + 1

    value = 0
    for n in range({tasks}):
        value = step.override(task_id=f"step_{{n}}")(value)
""",
    "taskflow_fanout": """
with DAG("{dag_id}", schedule="0 3 * * *", start_date=datetime(2024, 1, 1)):

    @task
    def source() -> int:
        return 1

    @task
    def branch(value: int, n: int) -> int:
        return value * n

    @task
    def collect(*values: int) -> int:
        return sum(values)

    first = source()
    collect(*[branch.override(task_id=f"branch_{{n}}")(first, n) for n in range({tasks} - 2)])
""",
}


def write_dag_files(folder: Path, count: int) -> None:
    shapes = list(SHAPES.items())
    for i in range(count):
        shape_name, body = shapes[i % len(shapes)]
        dag_id = f"bench_{i:03d}_{shape_name}"
        (folder / f"{dag_id}.py").write_text(HEADER + body.format(dag_id=dag_id, tasks=TASKS))


@contextlib.contextmanager
def database(kind: str, home: Path, server_url: str | None) -> Iterator[str]:
    """A URL to an empty database of the bench's own; a server database is dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{home / 'tradewind.db'}"
        return
    admin_url = sa.make_url(server_url or SERVERS[kind])
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"tw_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if kind == "postgres" else ""
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()


class Bench:
    """The DAGs folder, the metastore and the environment the ``tradewind`` processes get."""

    def __init__(self, home: Path, url: str, processes: int | None) -> None:
        self.home = home
        self.folder = home / "dags"
        self.env = {
            **os.environ,
            "TRADEWIND_HOME": str(home),
            "TRADEWIND__DATABASE__URL": url,
            "TRADEWIND__CORE__DAGS_FOLDER": str(self.folder),
            "TRADEWIND__CORE__LOAD_EXAMPLES": "false",
            "TRADEWIND__LOGGING__LEVEL": "WARNING",
        }
        self.env.pop("TRADEWIND_SETTINGS_JSON", None)
        if processes is not None:
            self.env["TRADEWIND__DAG_PROCESSOR__PARSING_PROCESSES"] = str(processes)
        self.settings: Settings = load_settings(environ=self.env)
        self.engine = engine_module.create_engine(self.settings.database)
        self.command = _tradewind_command()

    def run(self, *args: str) -> tuple[float, str]:
        """Run ``tradewind ARGS``; its wall time and its stdout. Any failure stops the bench."""
        started = time.perf_counter()
        done = subprocess.run(
            [*self.command, *args], env=self.env, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"`tradewind {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
        return elapsed, done.stdout

    def reset(self) -> None:
        self.run("db", "reset", "--yes")

    def check_registered(self, expected: int) -> None:
        with self.engine.connect() as connection:
            dags = connection.scalar(
                sa.select(sa.func.count()).select_from(DagModel).where(DagModel.is_active)
            )
            errors = connection.scalar(sa.select(sa.func.count()).select_from(ParseImportError))
        if dags != expected or errors:
            sys.exit(f"expected {expected} DAGs and no import errors, found {dags} and {errors}")

    def scan(self) -> tuple[DagProcessor, float]:
        proc = DagProcessor(self.settings, engine_module.session_factory(self.engine))
        return proc, proc.scan().seconds


def _tradewind_command() -> list[str]:
    script = Path(sys.executable).with_name("tradewind")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tradewind"]


def _scan_seconds(stdout: str) -> float:
    """The scan time the command reports itself, e.g. '... with import errors (1.23s)'."""
    found = re.search(r"\(([\d.]+)s\)\s*$", stdout)
    return float(found.group(1)) if found else float("nan")


def measure(bench: Bench, files: int, repeats: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        "cli startup (tradewind --version)": [],
        "cli cold: dag-processor --once": [],
        "cli cold: scan time it reports": [],
        "cli unchanged: dag-processor --once": [],
        "cli unchanged: scan time it reports": [],
        "in-process scan() cold": [],
        "in-process scan() unchanged": [],
    }
    names = list(results)
    for _ in range(repeats):
        results[names[0]].append(bench.run("--version")[0])
        bench.reset()
        elapsed, out = bench.run("dag-processor", "--once")
        bench.check_registered(files)
        results[names[1]].append(elapsed)
        results[names[2]].append(_scan_seconds(out))
        elapsed, out = bench.run("dag-processor", "--once")
        if " 0 parsed" not in out:
            sys.exit(f"the second pass parsed files again: {out}")
        results[names[3]].append(elapsed)
        results[names[4]].append(_scan_seconds(out))
    for _ in range(repeats):
        bench.reset()
        proc, cold = bench.scan()
        bench.check_registered(files)
        results[names[5]].append(cold)
        results[names[6]].append(proc.scan().seconds)
    return results


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def report(results: dict[str, list[float]], title: str, out: Callable[[str], None]) -> None:
    repeats = max(len(v) for v in results.values())
    width = max(len(name) for name in results) + 2
    out(title)
    out(
        "".ljust(width)
        + "".join(f"run {n + 1}".rjust(9) for n in range(repeats))
        + "median".rjust(9)
    )
    for name, values in results.items():
        cells = "".join(f"{v:9.3f}" for v in values)
        out(f"{name.ljust(width)}{cells}{statistics.median(values):9.3f}")
    out("(seconds)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "mysql"], default="sqlite")
    parser.add_argument("--server-url", help="admin URL of the server (--db postgres|mysql)")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, help="dag_processor.parsing_processes")
    parser.add_argument("--smoke", action="store_true", help="5 files, once")
    args = parser.parse_args(argv)
    files, repeats = (5, 1) if args.smoke else (args.files, args.repeats)

    load_before = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="tradewind-bench-parse-"))
    try:
        with database(args.db, home, args.server_url) as url:
            bench = Bench(home, url, args.processes)
            try:
                bench.folder.mkdir()
                write_dag_files(bench.folder, files)
                results = measure(bench, files, repeats)
            finally:
                bench.engine.dispose()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    processes = bench.settings.dag_processor.parsing_processes
    title = (
        f"parse: {files} DAG files x {TASKS} tasks, {args.db}, "
        f"{processes} parsing processes, {os.cpu_count()} CPUs"
    )
    # Other work on the machine skews every figure: the load average says how much there was.
    load = {"before": load_before[0], "after": os.getloadavg()[0]}
    title += f", load average {load['before']:.1f} before, {load['after']:.1f} after"
    report(results, title, print)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"parse-{args.db}-{stamp}{'-smoke' if args.smoke else ''}.json"
    document = {
        "benchmark": "parse",
        "timestamp": stamp,
        "db": args.db,
        "files": files,
        "tasks_per_file": TASKS,
        "repeats": repeats,
        "parsing_processes": processes,
        "machine": machine(),
        "load_average_1min": load,
        "seconds": dict(results),
        "median_seconds": {name: statistics.median(v) for name, v in results.items()},
    }
    target.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
