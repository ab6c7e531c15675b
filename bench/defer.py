"""What waiting costs: 1,000 task instances deferred at once, their triggers run by one real
``tradewind triggerer`` process, on SQLite or PostgreSQL.

    .venv/bin/python bench/defer.py --db sqlite|postgres [--tasks 1000] [--wait 20] [--probes 20]

The deferred instances and their trigger rows are made directly in a fresh metastore (a
running DAG run, ``--tasks`` instances in state deferred, each waiting on a
:class:`defer_triggers.DueTrigger` due ``--wait`` seconds later). Figures:

- the triggerer's CPU (% of one core) and peak RSS while all of them wait, from the moment it
  runs them all until a second before they are due;
- the resume latency: ``--probes`` more triggers, due one by one half a second apart after the
  crowd, each measured from its due time to the moment its instance was set back to scheduled
  (the instance's ``scheduled_dttm``, written in the triggerer's transaction); median and max;
- how long after their due time the last of the crowd of ``--tasks`` triggers, all due at once,
  was written back.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import engine as engine_module
from tradewind.metastore import schema
from tradewind.metastore.models import DagModel, DagRun, TaskInstance, Trigger
from tradewind.settings import Settings, load_settings
from tradewind.states import TaskState
from tradewind.triggers import serde

HERE = Path(__file__).parent
CLASSPATH = "defer_triggers.DueTrigger"


def make_deferred(sessions: sessionmaker[Session], dues: list[datetime]) -> None:
    """One deferred instance per due time, each with its own trigger row."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        session.add(DagModel(dag_id="defer", fileloc="/dags/defer.py", fileloc_hash="-"))
        session.flush()
        session.add(
            DagRun(
                dag_id="defer",
                run_id="manual__bench",
                logical_date=now,
                run_type="manual",
                state="running",
                start_date=now,
                last_scheduling_decision=now,
            )
        )
        triggers = [Trigger(classpath=CLASSPATH, kwargs=serde.encode({"at": at})) for at in dues]
        session.add_all(triggers)
        session.flush()
        session.add_all(
            TaskInstance(
                dag_id="defer",
                run_id="manual__bench",
                task_id=f"t{n:05d}",
                state=TaskState.DEFERRED.value,
                try_number=1,
                start_date=now,
                trigger_id=trigger.id,
                next_method="execute_complete",
                next_kwargs={},
            )
            for n, trigger in enumerate(triggers)
        )


def count(sessions: sessionmaker[Session], *where: object) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Trigger).where(*where)) or 0)


def scheduled_at(sessions: sessionmaker[Session], task_ids: list[str]) -> dict[str, datetime]:
    with sessions() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.scheduled_dttm).where(
                TaskInstance.task_id.in_(task_ids),
                TaskInstance.state == TaskState.SCHEDULED.value,
            )
        ).all()
    return {task_id: when for task_id, when in rows if when is not None}


def measure(settings: Settings, sessions: sessionmaker[Session], args: argparse.Namespace) -> dict:
    start = datetime.now(UTC)
    crowd_due = start + timedelta(seconds=args.wait)
    probes = [crowd_due + timedelta(seconds=2 + 0.5 * n) for n in range(args.probes)]
    make_deferred(sessions, [crowd_due] * args.tasks + probes)
    total = args.tasks + args.probes
    env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(HERE)}
    log = open(args.log, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "triggerer", "--capacity", str(max(total, 1000))],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        common.wait_until(
            lambda: count(sessions, Trigger.triggerer_id.is_not(None)) == total, 30, "claimed"
        )
        time.sleep(1.0)  # the loop starts them all
        sampler = common.TreeSampler([proc.pid])
        window = (crowd_due - datetime.now(UTC)).total_seconds() - 1.0
        used = sampler.watch(window)
        common.wait_until(lambda: count(sessions) <= args.probes, 60, "the crowd fired")
        common.wait_until(lambda: count(sessions) == 0, 60, "the probes fired")
    finally:
        common.stop_process(proc)
        log.close()
    names = [f"t{n:05d}" for n in range(args.tasks, total)]
    written = scheduled_at(sessions, names)
    crowd = scheduled_at(sessions, [f"t{n:05d}" for n in range(args.tasks)])
    crowd_seconds = (max(crowd.values()) - crowd_due).total_seconds()
    latencies = [
        (written[name] - due).total_seconds() * 1000
        for name, due in zip(names, probes, strict=True)
    ]
    return {
        "tasks_waiting": args.tasks,
        "window_s": round(window, 2),
        "cpu_percent_of_one_core": round(100 * used["cpu_s"] / window, 3),
        "peak_rss_mb": round(used["peak_rss_mb"], 1),
        "resume_latency_ms": {
            "median": round(statistics.median(latencies), 1),
            "max": round(max(latencies), 1),
            "probes": len(latencies),
        },
        "crowd_resumed_within_s": round(crowd_seconds, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--wait", type=float, default=20.0)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--log", default="/tmp/tradewind-bench-triggerer.log")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home, common.fresh_database(args.db, Path(home)) as url:
        settings = load_settings(
            environ={},
            home=Path(home),
            overrides={"database": {"url": url}, "core": {"load_examples": False}},
        )
        engine = engine_module.create_engine(settings.database)
        try:
            schema.init_db(engine)
            figures = measure(settings, engine_module.session_factory(engine), args)
        finally:
            engine.dispose()
    result = {"workload": "defer", "db": args.db, **figures, "machine": common.machine()}
    out = HERE / "results" / f"defer-{args.db}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
