"""``dags test``: one whole DAG run now, for DAG authors: the DAG files parsed once, a test run
triggered (its DAG unpaused), and the run driven to its end by the running scheduler or by one
in this process (see :func:`tradewind.scheduler.backfill.drive_runs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tradewind.exceptions import TradewindError
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import tasks as task_store
from tradewind.parsing.processor import DagProcessor
from tradewind.scheduler.backfill import drive_runs
from tradewind.scheduler.trigger import trigger_dag
from tradewind.settings import Settings
from tradewind.states import DagRunState


class DagTestError(TradewindError):
    """The test run cannot be created (an unknown DAG, a bad conf, the run exists)."""


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str | None
    try_number: int
    duration: float | None  # seconds


@dataclass(frozen=True)
class DagTestResult:
    run_id: str
    state: str | None  # the run's state at the end (None: the run is gone)
    tasks: list[TaskOutcome]  # by task id

    @property
    def ok(self) -> bool:
        return self.state == DagRunState.SUCCESS.value


def run_dag_test(
    settings: Settings,
    sessions: sessionmaker[Session],
    dag_id: str,
    *,
    logical_date: datetime,
    conf: dict[str, Any] | None,
) -> DagTestResult:
    """Parse the DAG files, run ``dag_id`` once at ``logical_date`` (run id
    ``test__<logical date>``) and return how its tasks ended. Raises DagTestError when the run
    cannot be created."""
    DagProcessor(settings, sessions).scan()
    try:
        with sessions.begin() as session:
            run = trigger_dag(
                session,
                dag_id,
                now=datetime.now(UTC),
                run_id=f"test__{logical_date.isoformat()}",
                conf=conf,
                logical_date=logical_date,
            )
            dag_store.set_paused(session, dag_id, False)
            run_id = run.run_id
    except TradewindError as exc:
        raise DagTestError(str(exc)) from None
    states = drive_runs(settings, sessions, dag_id, [run_id])
    with sessions() as session:
        tasks = [
            TaskOutcome(ti.task_id, ti.state, ti.try_number, ti.duration)
            for ti in task_store.instances_of_run(session, dag_id, run_id)
        ]
    return DagTestResult(run_id, states.get(run_id), tasks)
