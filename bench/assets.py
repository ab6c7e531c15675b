"""How soon an asset update runs its consumers, through every real process: the scheduler
(with its DAG processor) and the local executor, on SQLite or PostgreSQL.

    .venv/bin/python bench/assets.py --db sqlite|postgres [--updates 20] [--consumers 200]

Latency: a producer DAG whose one task has an asset among its outlets, and one consumer DAG
scheduled on that asset; the producer is triggered ``--updates`` times, one after the other
(its task waits at a gate that the bench opens once the trigger command has ended).
Figure: the median and the max, over the updates, of the time from the producer task's end
(its ``end_date``, the try's own clock) to the consumer's run being seen running in the
metastore (committed, with its first task queued), polled every 2 ms on a connection of the
bench's own. (A run's ``start_date`` is the moment the scheduler's pass began deciding, which
can be earlier than the commit: it is printed beside, not used.)

Fan-out: ``--consumers`` DAGs scheduled on one asset, one producer run per update. Figure: the
time from the producer task's end to the last of the consumer runs being seen running.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tradewind_side as side

PRODUCER = """
import os
import time

from tradewind import DAG, Asset
from tradewind.operators import PythonOperator


def write(gate):
    # Ends when the bench opens the gate, once the trigger command is long gone.
    while not os.path.exists(gate):
        time.sleep(0.001)
    os.remove(gate)


with DAG("producer", schedule=None, is_paused_upon_creation=False):
    PythonOperator(task_id="write", python_callable=write, op_args=[{gate!r}],
                   outlets=[Asset("s3://bench/orders")])
"""

CONSUMERS = """
from tradewind import DAG, Asset
from tradewind.operators import PythonOperator

for n in range({consumers}):
    with DAG(f"consumer_{{n:03d}}", schedule=[Asset("s3://bench/orders")],
             is_paused_upon_creation=False):
        PythonOperator(task_id="read", python_callable=lambda: None)
"""


def _time(value: Any) -> datetime:
    """A timestamp from the metastore, aware (SQLite's come naive, in UTC)."""
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _producer_end(home: side.Home, run_id: str) -> datetime | None:
    rows = home.rows(
        "SELECT end_date FROM task_instance WHERE dag_id = 'producer' AND run_id = :r"
        " AND state = 'success'",
        r=run_id,
    )
    return _time(rows[0][0]) if rows and rows[0][0] is not None else None


def _consumer_starts(home: side.Home) -> list[datetime]:
    rows = home.rows(
        "SELECT start_date FROM dag_run WHERE run_type = 'asset_triggered'"
        " AND start_date IS NOT NULL"
    )
    return sorted(_time(start) for (start,) in rows)


def _seen_running(home: side.Home, count: int, timeout: float = 120.0) -> datetime:
    """The moment ``count`` asset-triggered runs are seen started (polled every 2 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = home.rows(
            "SELECT count(*) FROM dag_run WHERE run_type = 'asset_triggered'"
            " AND start_date IS NOT NULL"
        )[0][0]
        if found >= count:
            return datetime.now(UTC)
        time.sleep(0.002)
    raise SystemExit(f"fewer than {count} consumer runs started")


def measure(db: str, *, updates: int, consumers: int) -> tuple[list[float], list[float]]:
    """Milliseconds from the producer task's end to the last consumer run of each update
    seen running, and to its recorded ``start_date``."""
    figures: list[float] = []
    recorded: list[float] = []
    with tempfile.TemporaryDirectory() as workdir, side.fresh_home(Path(workdir), db) as home:
        gate = home.path / "gate"
        (home.dags / "producer.py").write_text(PRODUCER.format(gate=str(gate)))
        (home.dags / "consumers.py").write_text(CONSUMERS.format(consumers=consumers))
        with side.running(home, "scheduler") as scheduler:
            scheduler.wait_for(
                lambda: side.registered(home, unpaused=True) == consumers + 1, "DAGs registered"
            )
            for n in range(updates):
                run_id = home.cli("dags", "trigger", "producer")
                time.sleep(0.5)  # the producer runs and waits at its gate; all else is quiet
                gate.touch()
                seen = _seen_running(home, (n + 1) * consumers)
                end = _producer_end(home, run_id)
                assert end is not None
                figures.append((seen - end).total_seconds() * 1000)
                recorded.append((_consumer_starts(home)[-1] - end).total_seconds() * 1000)
            scheduler.wait_for(lambda: True, "the scheduler to be alive")
    return figures, recorded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--consumers", type=int, default=1)
    args = parser.parse_args(argv)
    figures, recorded = measure(args.db, updates=args.updates, consumers=args.consumers)
    what = "run started" if args.consumers == 1 else f"last of {args.consumers} runs started"
    print(
        f"producer task end -> consumer {what}, {len(figures)} updates on {args.db}: "
        f"median {statistics.median(figures):.1f} ms, max {max(figures):.1f} ms "
        f"(recorded start_date: median {statistics.median(recorded):.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
