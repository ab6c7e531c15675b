"""Deferred task instances made directly in the metastore, and real triggerer processes.

:func:`defer` writes a DAG, a running DAG run and task instances in state deferred, each with
its own trigger row (a trigger of :mod:`deferral.triggers` by default); :func:`triggerer_process`
starts ``python -m tradewind triggerer`` with tests/integration on its PYTHONPATH, so that it
imports those triggers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from subprocess import DEVNULL, STDOUT, Popen
from typing import Any

from scheduling import stop
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore.models import DagModel, DagRun, Job, TaskInstance, Trigger
from tradewind.settings import Settings
from tradewind.states import DagRunState, TaskState
from tradewind.triggers import serde

HERE = Path(__file__).parent
TRIGGERS = "deferral.triggers"
METHOD_KWARGS = {"x": 1, "when": datetime(2024, 1, 2, tzinfo=UTC)}


@dataclass(frozen=True)
class Deferred:
    ti_id: int
    task_id: str
    trigger_id: int


def defer(
    sessions: sessionmaker[Session],
    triggers: Sequence[tuple[str, dict[str, Any]]],
    *,
    dag_id: str = "deferring",
    run_id: str = "manual__1",
) -> list[Deferred]:
    """One deferred task instance per ``(class name in deferral.triggers, kwargs)``."""
    now = datetime.now(UTC)
    made = []
    with sessions.begin() as session:
        if session.get(DagModel, dag_id) is None:
            session.add(DagModel(dag_id=dag_id, fileloc=f"/dags/{dag_id}.py", fileloc_hash="-"))
            session.flush()
        if session.scalar(select(DagRun.id).where(DagRun.run_id == run_id)) is None:
            session.add(
                DagRun(
                    dag_id=dag_id,
                    run_id=run_id,
                    logical_date=now,
                    run_type="manual",
                    state=DagRunState.RUNNING.value,
                    start_date=now,
                    last_scheduling_decision=now,
                )
            )
            session.flush()
        start = session.scalar(select(TaskInstance.id).order_by(TaskInstance.id.desc())) or 0
        rows = []
        for n, (name, kwargs) in enumerate(triggers, start=start + 1):
            trigger = Trigger(classpath=_classpath(name), kwargs=serde.encode(kwargs))
            session.add(trigger)
            rows.append((n, trigger))
        session.flush()
        for n, trigger in rows:
            ti = TaskInstance(
                dag_id=dag_id,
                run_id=run_id,
                task_id=f"t{n}",
                state=TaskState.DEFERRED.value,
                try_number=1,
                start_date=now,
                trigger_id=trigger.id,
                next_method="execute_complete",
                next_kwargs=serde.encode(METHOD_KWARGS),
            )
            session.add(ti)
            session.flush()
            made.append(Deferred(ti.id, ti.task_id, trigger.id))
    return made


def _classpath(name: str) -> str:
    return name if "." in name else f"{TRIGGERS}.{name}"


def instance(sessions: sessionmaker[Session], ti_id: int) -> TaskInstance:
    with sessions() as session:
        found = session.get(TaskInstance, ti_id)
        assert found is not None
        return found


def states(sessions: sessionmaker[Session], ids: Sequence[int]) -> list[str | None]:
    with sessions() as session:
        return [session.scalar(select(TaskInstance.state).where(TaskInstance.id == i)) for i in ids]


def trigger_owners(sessions: sessionmaker[Session]) -> dict[int, int | None]:
    with sessions() as session:
        rows = session.execute(select(Trigger.id, Trigger.triggerer_id)).all()
        return {row[0]: row[1] for row in rows}


def triggerer_jobs(sessions: sessionmaker[Session]) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).where(Job.job_type == "triggerer")).all())


@contextmanager
def triggerer_process(settings: Settings, log: Path, *args: str) -> Iterator[Popen[bytes]]:
    """``python -m tradewind triggerer ARGS`` (output appended to ``log``) that can import
    :mod:`deferral.triggers`; stopped (SIGTERM) if still running."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    with log.open("ab") as out:
        proc = Popen(
            [sys.executable, "-m", "tradewind", "triggerer", *args],
            env={**os.environ, **settings.to_env(), "PYTHONPATH": path},
            stdin=DEVNULL,
            stdout=out,
            stderr=STDOUT,
        )
    try:
        yield proc
    finally:
        stop(proc)


def read_journal(path: Path) -> list[tuple[str, str, int]]:
    """(step, tag, pid) lines a trigger wrote (see deferral.triggers.note)."""
    if not path.exists():
        return []
    return [
        (step, tag, int(pid))
        for step, tag, pid in (line.split() for line in path.read_text().splitlines())
    ]
