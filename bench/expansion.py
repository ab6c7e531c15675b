"""What expanding a mapped task costs the scheduler: the one transaction in which the task's
unexpanded instance becomes N instances and they are scheduled, timed on SQLite or PostgreSQL.

    .venv/bin/python bench/expansion.py --db sqlite|postgres [--items 1000] [--repeat 5]

Each repetition builds a fresh metastore, registers a DAG whose task ``each`` is mapped over
what ``items`` returns, starts a run, records ``items`` as done with its N values (as the
scheduler does when the try reports), then times ``advance_run`` for ``each`` up to its commit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import common
from sqlalchemy import update

from tradewind.metastore import engine as engine_module
from tradewind.metastore import schema
from tradewind.metastore.models import TaskInstance
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.processor import DagProcessor
from tradewind.scheduler import dagruns
from tradewind.scheduler.trigger import trigger_dag
from tradewind.settings import load_settings
from tradewind.states import TaskState

DAG_FILE = """
from tradewind import DAG, task

with DAG("expansion", schedule=None):
    @task
    def items():
        return []

    @task
    def each(x):
        return x

    each.expand(x=items())
"""


def once(kind: str, items: int) -> float:
    """Seconds for the transaction that expands ``each`` over ``items`` values."""
    with tempfile.TemporaryDirectory() as home, common.fresh_database(kind, Path(home)) as url:
        dags = Path(home) / "dags"
        dags.mkdir()
        (dags / "expansion.py").write_text(DAG_FILE)
        settings = load_settings(
            environ={},
            home=Path(home),
            overrides={
                "database": {"url": url},
                "core": {"dags_folder": str(dags), "load_examples": False},
            },
        )
        engine = engine_module.create_engine(settings.database)
        try:
            schema.init_db(engine)
            sessions = engine_module.session_factory(engine)
            DagProcessor(settings, sessions).scan()
            cache = dagruns.DagCache(max_map_length=items)
            now = datetime.now(UTC)
            with sessions.begin() as session:
                dag_store.set_paused(session, "expansion", False)
                run = trigger_dag(session, "expansion", now=now)
                dag = dagruns.dag_of(session, cache, run)
                assert dag is not None
                dagruns.start_run(session, cache, run, dag, now)
                xcom_store.set_xcoms(
                    session, run.id, "items", -1, [("return_value", list(range(items)))]
                )
                session.execute(
                    update(TaskInstance)
                    .where(TaskInstance.run_id == run.run_id, TaskInstance.task_id == "items")
                    .values(state=TaskState.SUCCESS.value)
                )
                run_id = run.run_id
            started = time.perf_counter()
            with sessions.begin() as session:
                found = dagruns.run_store.get_run(session, "expansion", run_id)
                assert found is not None
                dagruns.advance_run(session, cache, found, {"each"}, datetime.now(UTC))
            elapsed = time.perf_counter() - started
            with sessions() as session:
                states = task_store.instance_states(session, "expansion", run_id)["each"]
            if states != dict.fromkeys(range(items), TaskState.SCHEDULED):
                raise SystemExit(f"expansion went wrong: {len(states)} instances")
            return elapsed
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    times = [once(args.db, args.items) * 1000 for _ in range(args.repeat)]
    print(
        f"expanding a task over {args.items} items and scheduling them on {args.db}: "
        f"median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
