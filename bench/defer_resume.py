"""How soon a deferred task resumes once its trigger fires, through every real process: the
scheduler (with its DAG processor), the local executor and one triggerer, on SQLite or
PostgreSQL.

    .venv/bin/python bench/defer_resume.py --db sqlite|postgres [--tasks 20]

One DAG of ``--tasks`` independent tasks; each defers on a DateTimeTrigger due one second after
it ran, staggered so that triggers fire one at a time, and the resumed method returns how long
after the due time it started running (its own clock). Figure: the median and the max of those
latencies, the whole path of a resumption (the trigger firing, the write, the scheduler waking
and queueing, a process forked and the task's method called).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tradewind_side as side

DAG = """
import time
from datetime import UTC, datetime, timedelta

from tradewind import DAG
from tradewind.models import BaseOperator
from tradewind.triggers.temporal import DateTimeTrigger


class Nap(BaseOperator):
    def __init__(self, delay, **kwargs):
        super().__init__(**kwargs)
        self.delay = delay

    def execute(self, context):
        due = datetime.now(UTC) + timedelta(seconds=self.delay)
        self.defer(trigger=DateTimeTrigger(due), method_name="woke",
                   kwargs={{"due": due.timestamp()}})

    def woke(self, context, event, due):
        return time.time() - due


with DAG("defer_resume", schedule=None, is_paused_upon_creation=False, max_active_tasks={tasks}):
    for n in range({tasks}):
        Nap(task_id=f"nap_{{n:03d}}", delay=1.0 + 0.3 * n)
"""


def measure(db: str, tasks: int) -> list[float]:
    """Milliseconds from each trigger's due time to its task's resumed method starting."""
    with tempfile.TemporaryDirectory() as workdir, side.fresh_home(Path(workdir), db) as home:
        (home.dags / "defer_resume.py").write_text(DAG.format(tasks=tasks))
        with (
            side.running(home, "triggerer"),
            side.running(home, "scheduler") as scheduler,
        ):
            scheduler.wait_for(lambda: side.registered(home, unpaused=True) == 1, "DAG registered")
            run_id = home.cli("dags", "trigger", "defer_resume")
            deadline = time.monotonic() + 60 + 0.3 * tasks
            while time.monotonic() < deadline:
                state = home.rows("SELECT state FROM dag_run WHERE run_id = :r", r=run_id)[0][0]
                if state in ("success", "failed"):
                    break
                time.sleep(0.2)
            else:
                raise SystemExit("the run did not finish")
            if state != "success":
                raise SystemExit(f"the run ended {state}")
            rows = home.rows(
                "SELECT value FROM xcom WHERE run_id = :r AND key = 'return_value'", r=run_id
            )
    return [float(value) * 1000 for (value,) in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args(argv)
    latencies = measure(args.db, args.tasks)
    print(
        f"fired trigger -> resumed task running, {len(latencies)} tasks on {args.db}: "
        f"median {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
