"""Metastore content for timing the web server's pages, written directly with Core inserts.

``seed(engine, dags=1000)`` adds that many DAGs (tags, owners, schedules, a serialized version
and the last few runs of each); ``seed_grid(engine, runs=100, tasks=200)`` adds one DAG
(``grid_bench``, tasks in task groups of 10) with that many runs of that many task instances.
Both expect a metastore at the schema head (``schema.init_db``).

Run as a script to time the DAG list and the grid with the test client::

    .venv/bin/python bench/web_data.py [--dags 1000] [--runs 100] [--tasks 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tradewind import DAG, TaskGroup
from tradewind.metastore.models import (
    DagModel,
    DagRun,
    DagTag,
    SerializedDagModel,
    TaskInstance,
)
from tradewind.operators import EmptyOperator
from tradewind.parsing.serialize import dag_hash, serialize_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
RUN_STATES = ("success", "success", "success", "failed", "success", "running")
TASK_STATES = ("success", "success", "failed", "upstream_failed", "skipped", "up_for_retry")


def _dag_row(dag_id: str, fileloc: str, index: int, now: datetime) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "fileloc": fileloc,
        "fileloc_hash": f"{index:064x}",
        "is_paused": index % 3 == 0,
        "is_active": True,
        "description": f"Benchmark DAG number {index}",
        "owners": "data-eng" if index % 2 else "analytics,data-eng",
        "schedule_description": "@daily" if index % 4 else "0 * * * *",
        "timezone": "UTC",
        "max_active_runs": 16,
        "max_active_tasks": 16,
        "has_import_errors": False,
        "last_parsed_at": now,
        "next_dagrun": now + timedelta(hours=1 + index % 24),
        "created_at": now,
    }


def _serialized(dag: DAG) -> dict[str, Any]:
    return serialize_dag(dag)


def _small_dag(dag_id: str) -> DAG:
    with DAG(dag_id, schedule="@daily", start_date=START) as dag:
        EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
    return dag


def seed(engine: Engine, dags: int = 1000, runs_per_dag: int = 12) -> list[str]:
    """Add ``dags`` DAGs with ``runs_per_dag`` runs each; returns their ids."""
    now = datetime.now(UTC)
    dag_ids = [f"bench_dag_{i:05d}" for i in range(dags)]
    template = _serialized(_small_dag("template"))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(DagModel),
            [_dag_row(d, f"/dags/{d}.py", i, now) for i, d in enumerate(dag_ids)],
        )
        conn.execute(
            sa.insert(DagTag),
            [
                {"dag_id": d, "name": name}
                for i, d in enumerate(dag_ids)
                for name in (f"team{i % 7}", "bench")
            ],
        )
        serialized = [
            {
                "dag_id": d,
                "version": 1,
                "dag_hash": dag_hash({**template, "dag_id": d}),
                "data": {**template, "dag_id": d},
                "created_at": now,
            }
            for d in dag_ids
        ]
        conn.execute(sa.insert(SerializedDagModel), serialized)
        conn.execute(
            sa.insert(DagRun),
            [
                _run_row(d, n, RUN_STATES[(i + n) % len(RUN_STATES)], now)
                for i, d in enumerate(dag_ids)
                for n in range(runs_per_dag)
            ],
        )
    return dag_ids


def _run_row(dag_id: str, n: int, state: str, now: datetime) -> dict[str, Any]:
    logical = START + timedelta(days=n)
    return {
        "dag_id": dag_id,
        "run_id": f"scheduled__{logical.isoformat()}",
        "logical_date": logical,
        "data_interval_start": logical,
        "data_interval_end": logical + timedelta(days=1),
        "run_type": "scheduled",
        "state": state,
        "queued_at": now,
        "start_date": now - timedelta(minutes=n + 5),
        "end_date": None if state == "running" else now - timedelta(minutes=n),
        "external_trigger": False,
        "created_at": now,
        "updated_at": now,
    }


def grid_dag(tasks: int = 200, group_size: int = 10) -> DAG:
    """``tasks`` tasks: groups of ``group_size`` chained one after another."""
    with DAG("grid_bench", schedule="@daily", start_date=START, tags=["bench"]) as dag:
        previous: Any = None
        for g in range(tasks // group_size):
            with TaskGroup(f"group_{g:02d}") as group:
                first = EmptyOperator(task_id="t00")
                for t in range(1, group_size):
                    first >> EmptyOperator(task_id=f"t{t:02d}")
            if previous is not None:
                previous >> group
            previous = group
    return dag


def seed_grid(engine: Engine, runs: int = 100, tasks: int = 200) -> str:
    """Add the DAG ``grid_bench`` with ``runs`` runs of ``tasks`` task instances each."""
    now = datetime.now(UTC)
    dag = grid_dag(tasks)
    data = serialize_dag(dag)
    with engine.begin() as conn:
        conn.execute(sa.insert(DagModel), [_dag_row("grid_bench", "/dags/grid_bench.py", 1, now)])
        serialized_id = conn.execute(
            sa.insert(SerializedDagModel).returning(SerializedDagModel.id),
            [
                {
                    "dag_id": "grid_bench",
                    "version": 1,
                    "dag_hash": dag_hash(data),
                    "data": data,
                    "created_at": now,
                }
            ],
        ).scalar_one()
        rows = [
            {
                **_run_row("grid_bench", n, RUN_STATES[n % len(RUN_STATES)], now),
                "serialized_dag_id": serialized_id,
            }
            for n in range(runs)
        ]
        conn.execute(sa.insert(DagRun), rows)
        task_ids = sorted(t.task_id for t in dag.tasks)
        conn.execute(
            sa.insert(TaskInstance),
            [
                {
                    "dag_id": "grid_bench",
                    "run_id": run["run_id"],
                    "task_id": task_id,
                    "map_index": -1,
                    "state": TASK_STATES[(n + t) % len(TASK_STATES)],
                    "try_number": 1,
                    "max_tries": 0,
                    "start_date": run["start_date"],
                    "end_date": run["end_date"],
                    "pool": "default_pool",
                    "pool_slots": 1,
                    "queue": "default",
                    "priority_weight": 1,
                    "operator": "EmptyOperator",
                    "updated_at": now,
                }
                for n, run in enumerate(rows)
                for t, task_id in enumerate(task_ids)
            ],
        )
    return "grid_bench"


def _time(client: Any, path: str, repeat: int) -> tuple[float, float]:
    """Median and best server time (ms) of ``path``, from the Server-Timing header."""
    client.get(path)  # warm: caches, compiled templates
    wall, server = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = client.get(path)
        wall.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
        timing = answer.headers.get("server-timing", "")
        if "dur=" in timing:
            server.append(float(timing.split("dur=")[1].split(",")[0].split(";")[0]))
    return statistics.median(server or wall), statistics.median(wall)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from tradewind import passwords
    from tradewind.metastore import engine as engine_module
    from tradewind.metastore import schema
    from tradewind.metastore.store import users
    from tradewind.settings import load_settings
    from tradewind.ui.app import create_app

    home = Path(tempfile.mkdtemp(prefix="tw-web-bench-"))
    settings = load_settings(
        environ={},
        home=home,
        overrides={
            "webserver": {"secret_key": "bench", "public_role": "viewer"},
            "core": {"load_examples": False},
        },
    )
    engine = engine_module.create_engine(settings.database)
    schema.init_db(engine)
    seed(engine, args.dags)
    seed_grid(engine, args.runs, args.tasks)
    with engine_module.session_factory(engine).begin() as session:
        users.create_user(
            session,
            username="admin",
            password_hash=passwords.hash_password("admin"),
            role="admin",
            email=None,
            now=datetime.now(UTC),
        )
    client = TestClient(create_app(settings))
    for label, path in (
        (f"DAG list of {args.dags + 1} DAGs (page 1)", "/dags"),
        ("DAG list, page 10", "/dags?page=10"),
        ("DAG list, search", "/dags?q=dag_009"),
        (f"grid {args.runs} runs x {args.tasks} tasks", f"/dags/grid_bench?runs={args.runs}"),
        ("grid live state", f"/ui/dags/grid_bench/grid-state?runs={args.runs}"),
        ("graph", "/dags/grid_bench/graph"),
        ("gantt", "/dags/grid_bench/gantt"),
    ):
        server, wall = _time(client, path, args.repeat)
        print(f"{label:40s} server {server:7.1f} ms   client {wall:7.1f} ms", file=sys.stdout)
    engine.dispose()


if __name__ == "__main__":
    main()
