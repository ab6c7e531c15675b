"""Backfill: runs for every scheduled interval of a date range; and running runs to the end
in this process when no scheduler is around (``dags backfill``, and ``dags test`` in
scheduler/dagtest.py).

``dags backfill`` is two calls, so that the command can say what it created before it waits:
:func:`create_backfill`, then :func:`wait_for_backfill`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from tradewind import timetables
from tradewind.exceptions import TradewindError
from tradewind.executors import create_executor
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import grid as grid_store
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.types import utcnow
from tradewind.parsing import registry
from tradewind.parsing.serialize import SerializedDag
from tradewind.scheduler import loop
from tradewind.settings import Settings
from tradewind.states import DagRunState, DagRunType

FINISHED_RUN_STATES = frozenset({DagRunState.SUCCESS.value, DagRunState.FAILED.value})
MAX_BACKFILL_RUNS = 10_000


class BackfillError(TradewindError):
    """The backfill cannot be made as asked."""


def intervals(
    dag_schedule: SerializedDag, start: datetime, end: datetime
) -> list[timetables.DagRunInfo]:
    """The scheduled runs whose logical date falls in [start, end], oldest first."""
    if not dag_schedule.timetable.can_be_scheduled:
        raise BackfillError(f"DAG {dag_schedule.dag_id!r} has no schedule to backfill")
    earliest = max(start, dag_schedule.start_date) if dag_schedule.start_date else start
    restriction = timetables.TimeRestriction(earliest, end, catchup=True)
    found: list[timetables.DagRunInfo] = []
    last: timetables.DataInterval | None = None
    while len(found) < MAX_BACKFILL_RUNS:
        info = dag_schedule.timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction, now=end
        )
        if info is None or info.logical_date > end:
            break
        found.append(info)
        last = info.data_interval
    return found


def why_no_runs(dag: SerializedDag, start: datetime, end: datetime) -> str:
    """Why the range holds no scheduled run of the DAG, in words."""
    if dag.start_date is not None and end < dag.start_date:
        return (
            f"the range ends before the DAG's start_date ({dag.start_date.isoformat()}): "
            "nothing is scheduled before it"
        )
    if dag.end_date is not None and start > dag.end_date:
        return f"the range starts after the DAG's end_date ({dag.end_date.isoformat()})"
    return f"no run of the schedule {dag.schedule!r} has its logical date in the range"


def create_backfill_runs(
    session: Session, dag_id: str, start: datetime, end: datetime, *, now: datetime
) -> tuple[list[DagRun], list[str], str | None]:
    """Queued backfill runs for the range; returns them, the run ids that existed already, and
    why there are none (None when the range has runs)."""
    if start > end:
        raise BackfillError("the start date is after the end date")
    dag = registry.load_serialized(session, dag_id)
    created: list[DagRun] = []
    existing: list[str] = []
    found = intervals(dag, start, end)
    if not found:
        return created, existing, why_no_runs(dag, start, end)
    for info in found:
        run_id = run_store.run_id_for(DagRunType.BACKFILL, info.logical_date)
        try:
            created.append(
                run_store.create_dag_run(
                    session,
                    dag_id=dag_id,
                    run_id=run_id,
                    logical_date=info.logical_date,
                    data_interval=(info.data_interval.start, info.data_interval.end),
                    run_type=DagRunType.BACKFILL,
                    conf=None,
                    now=now,
                )
            )
        except run_store.RunExists:
            existing.append(run_id)
    return created, existing, None


@dataclass(frozen=True)
class Backfill:
    dag_id: str
    run_ids: list[str]  # the runs created
    existing: list[str]  # the run ids of the range that existed already (left alone)
    # Why the range holds no run at all (None: it holds some).
    reason: str | None = None


def create_backfill(
    sessions: sessionmaker[Session], dag_id: str, start: datetime, end: datetime
) -> Backfill:
    """Create the queued backfill runs of the range, in one transaction (raises
    TradewindError when the range or the DAG does not allow it)."""
    with sessions.begin() as session:
        created, existing, reason = create_backfill_runs(
            session, dag_id, start, end, now=datetime.now(UTC)
        )
        return Backfill(dag_id, [r.run_id for r in created], existing, reason)


@dataclass(frozen=True)
class Progress:
    """How far a backfill got: its runs and their task instances, finished and in all."""

    runs_done: int
    runs: int
    tasks_done: int
    tasks: int


def wait_for_backfill(
    settings: Settings,
    sessions: sessionmaker[Session],
    backfill: Backfill,
    *,
    progress: Callable[[Progress], None] = lambda progress: None,
) -> list[str]:
    """Run the backfill's runs to their end (see :func:`drive_runs`), telling ``progress`` how
    many runs and task instances have finished; the ids of the runs that did not succeed,
    sorted."""

    def report(states: dict[str, str]) -> None:
        with sessions() as session:
            tasks_done, tasks = grid_store.task_progress(session, backfill.dag_id, backfill.run_ids)
        runs_done = sum(s in FINISHED_RUN_STATES for s in states.values())
        progress(Progress(runs_done, len(backfill.run_ids), tasks_done, tasks))

    states = drive_runs(settings, sessions, backfill.dag_id, backfill.run_ids, progress=report)
    return sorted(r for r, s in states.items() if s != DagRunState.SUCCESS.value)


def scheduler_alive(settings: Settings, sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return bool(
            job_store.alive_jobs(
                session, loop.JOB_TYPE, now=utcnow(), timeout=settings.scheduler.job_timeout
            )
        )


def run_states(
    sessions: sessionmaker[Session], dag_id: str, run_ids: Sequence[str]
) -> dict[str, str]:
    with sessions() as session:
        return {
            run_id: run.state
            for run_id in run_ids
            if (run := run_store.get_run(session, dag_id, run_id)) is not None
        }


def drive_runs(
    settings: Settings,
    sessions: sessionmaker[Session],
    dag_id: str,
    run_ids: Sequence[str],
    *,
    progress: Callable[[dict[str, str]], None] = lambda states: None,
    stop: threading.Event | None = None,
) -> dict[str, str]:
    """Wait until the runs finish: with the running scheduler, or with one in this process."""
    stop = stop or threading.Event()

    def done() -> bool:
        states = run_states(sessions, dag_id, run_ids)
        progress(states)
        return stop.is_set() or all(s in FINISHED_RUN_STATES for s in states.values())

    if scheduler_alive(settings, sessions):
        while not done():
            stop.wait(0.2)
        return run_states(sessions, dag_id, run_ids)
    scheduler = loop.Scheduler(settings, sessions, create_executor(settings))
    scheduler.start()
    try:
        while not done():
            scheduler.run_until(done, timeout=1.0)
    finally:
        scheduler.stop()
    return run_states(sessions, dag_id, run_ids)
