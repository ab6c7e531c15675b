"""How soon an asset update runs its consumers, through every real process: the scheduler
(with its DAG processor) and the local executor, on SQLite or PostgreSQL.

    .venv/bin/python bench/assets.py --db sqlite|postgres [--updates 20] [--consumers 200]

Latency: a producer DAG whose one task has an asset among its outlets, and one consumer DAG
scheduled on that asset; the producer is triggered ``--updates`` times, one after the other.
Figure: the median and the max, over the updates, of the time from the producer task's end
(its ``end_date``) to the consumer's run starting (its ``start_date``: the run is running and
its first task is queued).

Fan-out: ``--consumers`` DAGs scheduled on one asset, one producer run. Figure: the time from
the producer task's end to the last of the consumer runs starting.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import tradewind_side as side

PRODUCER = """
from tradewind import DAG, Asset
from tradewind.operators import EmptyOperator, PythonOperator

with DAG("producer", schedule=None, is_paused_upon_creation=False):
    PythonOperator(task_id="write", python_callable=lambda: None,
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
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


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


def measure(db: str, *, updates: int, consumers: int) -> list[float]:
    """Milliseconds from the producer task's end to the consumer runs' starts: one figure per
    update (one consumer), or the last start of one update (several consumers)."""
    figures: list[float] = []
    with tempfile.TemporaryDirectory() as workdir, side.fresh_home(Path(workdir), db) as home:
        (home.dags / "producer.py").write_text(PRODUCER)
        (home.dags / "consumers.py").write_text(CONSUMERS.format(consumers=consumers))
        with side.running(home, "scheduler") as scheduler:
            scheduler.wait_for(
                lambda: side.registered(home, unpaused=True) == consumers + 1, "DAGs registered"
            )
            for n in range(updates):
                run_id = home.cli("dags", "trigger", "producer")
                started = (n + 1) * consumers
                scheduler.wait_for(
                    lambda: len(_consumer_starts(home)) >= started, "consumer runs started"
                )
                end = _producer_end(home, run_id)
                assert end is not None
                last = _consumer_starts(home)[-1]
                figures.append((last - end).total_seconds() * 1000)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--consumers", type=int, default=1)
    args = parser.parse_args(argv)
    figures = measure(args.db, updates=args.updates, consumers=args.consumers)
    what = "run started" if args.consumers == 1 else f"last of {args.consumers} runs started"
    print(
        f"producer task end -> consumer {what}, {len(figures)} updates on {args.db}: "
        f"median {statistics.median(figures):.1f} ms, max {max(figures):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
