"""Chain and fan-out through the real scheduler and local executor, as a user runs them.

    python bench/scheduling.py [--db sqlite|postgres] [--repeat 3] [--smoke]

A temporary TRADEWIND_HOME with two DAG files (a chain of 30 no-op tasks, a fan-out of 200),
a real `tradewind scheduler` process (with its DAG processor), runs triggered with
`tradewind dags trigger`, timings read from the metastore. Figures:
- chain: median time per hop (end of one task to end of the next) and median gap (end of one
  task to start of the next);
- fanout: tasks per second from the trigger to the run's end.
Writes bench/results/scheduling-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

HERE = Path(__file__).parent
CHAIN = """
from tradewind import DAG
from tradewind.operators import PythonOperator

def noop():
    return None

with DAG("bench_chain", schedule=None, is_paused_upon_creation=False):
    previous = None
    for i in range({n}):
        current = PythonOperator(task_id=f"t{{i:03d}}", python_callable=noop)
        if previous is not None:
            previous >> current
        previous = current
"""
FANOUT = """
from tradewind import DAG
from tradewind.operators import EmptyOperator, PythonOperator

def noop():
    return None

with DAG("bench_fanout", schedule=None, is_paused_upon_creation=False, max_active_tasks=1000):
    start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
    middle = [PythonOperator(task_id=f"t{{i:03d}}", python_callable=noop) for i in range({n})]
    start >> middle >> end
"""


def postgres_url() -> tuple[str, str]:
    name = f"tw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_postgres(name: str) -> None:
    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Env:
    def __init__(self, home: Path, db_url: str) -> None:
        self.home = home
        self.db_url = db_url
        self.env = {
            **os.environ,
            "TRADEWIND_HOME": str(home),
            "TRADEWIND__DATABASE__URL": db_url,
            "TRADEWIND__CORE__LOAD_EXAMPLES": "false",
            "TRADEWIND__DAG_PROCESSOR__REFRESH_INTERVAL": "1",
        }
        self.engine = create_engine(db_url.replace("sqlite:///", "sqlite:///", 1))

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "tradewind", *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def run_once(env: Env, dag_id: str) -> dict[str, Any]:
    triggered = datetime.now(UTC)
    run_id = env.cli("dags", "trigger", dag_id)

    def finished() -> bool:
        rows = env.query(
            "SELECT state FROM dag_run WHERE dag_id=:d AND run_id=:r", d=dag_id, r=run_id
        )
        return bool(rows) and rows[0][0] in ("success", "failed")

    wait_for(finished, 600, f"{dag_id} {run_id}")
    state, end = env.query(
        "SELECT state, end_date FROM dag_run WHERE dag_id=:d AND run_id=:r", d=dag_id, r=run_id
    )[0]
    tis = env.query(
        "SELECT task_id, start_date, end_date FROM task_instance WHERE dag_id=:d AND run_id=:r "
        "ORDER BY task_id",
        d=dag_id,
        r=run_id,
    )
    return {
        "run_id": run_id,
        "state": state,
        "triggered": triggered,
        "end": _aware(end),
        "tis": tis,
    }


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def chain_figures(result: dict[str, Any]) -> dict[str, float]:
    tis = sorted(result["tis"], key=lambda r: r[0])
    ends = [_aware(r[2]) for r in tis]
    starts = [_aware(r[1]) for r in tis]
    hops = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(ends)]
    gaps = [(s - e).total_seconds() * 1000 for e, s in zip(ends, starts[1:], strict=False)]
    total = (result["end"] - result["triggered"]).total_seconds()
    return {
        "hop_ms_median": statistics.median(hops),
        "gap_ms_median": statistics.median(gaps),
        "total_s": total,
    }


def fanout_figures(result: dict[str, Any], n: int) -> dict[str, float]:
    total = (result["end"] - result["triggered"]).total_seconds()
    return {"tasks_per_s": (n + 2) / total, "total_s": total}


def summarise(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition")
    args = parser.parse_args()
    chain_n, fan_n, repeat = (5, 10, 1) if args.smoke else (30, 200, args.repeat)
    with tempfile.TemporaryDirectory(prefix="tw-bench-") as tmp:
        home = Path(tmp)
        (home / "dags").mkdir()
        (home / "dags" / "chain.py").write_text(CHAIN.format(n=chain_n))
        (home / "dags" / "fanout.py").write_text(FANOUT.format(n=fan_n))
        pg_name = None
        if args.db == "postgres":
            url, pg_name = postgres_url()
        else:
            url = f"sqlite:///{home / 'tradewind.db'}"
        env = Env(home, url)
        env.cli("db", "init")
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "tradewind", "scheduler"],
            env=env.env,
            stdout=subprocess.DEVNULL,
            stderr=open(home / "scheduler.log", "w"),  # noqa: SIM115
        )
        try:
            wait_for(lambda: len(env.query("SELECT dag_id FROM dag")) == 2, 60, "DAG registration")
            chain = [chain_figures(run_once(env, "bench_chain")) for _ in range(repeat)]
            fan = [fanout_figures(run_once(env, "bench_fanout"), fan_n) for _ in range(repeat)]
        finally:
            scheduler.terminate()
            scheduler.wait(30)
            env.engine.dispose()
            if pg_name:
                drop_postgres(pg_name)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "db": args.db,
        "chain_tasks": chain_n,
        "fanout_tasks": fan_n,
        "repeat": repeat,
        "chain_hop_ms": summarise([c["hop_ms_median"] for c in chain]),
        "chain_gap_ms": summarise([c["gap_ms_median"] for c in chain]),
        "chain_total_s": summarise([c["total_s"] for c in chain]),
        "fanout_tasks_per_s": summarise([f["tasks_per_s"] for f in fan]),
        "fanout_total_s": summarise([f["total_s"] for f in fan]),
    }
    print(json.dumps(report, indent=2))
    if not args.smoke:
        out = HERE / "results" / f"scheduling-{args.db}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
