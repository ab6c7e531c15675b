"""A real ``tradewind scheduler`` or ``tradewind dag-processor`` over a real DAGs folder and
metastore, for the fault tests of the DAG processor.

:class:`Site` holds the settings, sessions on the metastore and the DAGs folder; it writes DAG
files (:data:`HEADER` gives them ``note``, which appends a line to a journal, one per try),
reads what the processor registered and what runs did, and answers ``/health`` and
``/metrics`` through the web server's app. :func:`command` runs a tradewind command as a child
process with exactly the site's settings, its output in a log file.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind import passwords
from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import DagModel, DagRun, Job, ParseImportError, TaskInstance
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow
from tradewind.scheduler.trigger import trigger_dag
from tradewind.settings import Settings
from tradewind.ui.app import create_app

HEADER = """
import os
from datetime import datetime
from tradewind import DAG
from tradewind.operators import PythonOperator


def note(ti=None):
    with open({journal!r}, "a") as out:
        out.write(f"{{ti.dag_id}} {{ti.task_id}} {{ti.try_number}} {{os.getpid()}}\\n")


def simple_dag(dag_id):
    with DAG(dag_id, schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        PythonOperator(task_id="a", python_callable=note) >> PythonOperator(
            task_id="b", python_callable=note
        )
    return dag
"""

VIEWER = ("watcher", "pw-watcher")


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    """Poll ``condition`` until it is truthy (returned); fail naming ``what`` after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_gone(pids: Sequence[int], timeout: float = 15.0) -> list[int]:
    """Wait (bounded) until none of ``pids`` runs; returns those still running."""
    end = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < end:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@dataclass
class Site:
    settings: Settings
    sessions: sessionmaker[Session]
    dags: Path
    journal: Path

    def write_dag(self, name: str, body: str) -> Path:
        """``dags/<name>.py``: HEADER (``note``, ``simple_dag``) and ``body``."""
        path = self.dags / f"{name}.py"
        text = HEADER.format(journal=str(self.journal)) + textwrap.dedent(body)
        # Written aside and moved in: the processor never reads half a file.
        aside = self.dags.parent / f".{name}.py"
        aside.write_text(text)
        aside.rename(path)
        return path

    # ---- what the DAG processor did -----------------------------------------------------

    def registered(self) -> set[str]:
        with self.sessions() as session:
            return set(session.scalars(select(DagModel.dag_id).where(DagModel.is_active)))

    def import_errors(self) -> dict[str, str]:
        """File name -> the error's text."""
        with self.sessions() as session:
            rows = session.scalars(select(ParseImportError)).all()
            return {Path(row.filename).name: row.stacktrace for row in rows}

    def processor_jobs(self) -> list[Job]:
        """The DAG processors registered as running, oldest first."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Job)
                    .where(Job.job_type == job_store.DAG_PROCESSOR, Job.state == "running")
                    .order_by(Job.id)
                ).all()
            )

    def processor_pid(self) -> int | None:
        """The pid of the DAG processor that heartbeat last, if it runs."""
        jobs = [job for job in self.processor_jobs() if job.pid and pid_alive(job.pid)]
        latest = max(jobs, key=lambda job: job.latest_heartbeat, default=None)
        return latest.pid if latest is not None else None

    # ---- runs ----------------------------------------------------------------------------

    def trigger(self, dag_id: str) -> str:
        with self.sessions.begin() as session:
            dag_store.set_paused(session, dag_id, False)
            return trigger_dag(session, dag_id, now=datetime.now(UTC)).run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        with self.sessions() as session:
            run = session.scalar(
                select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
            )
            return run.state if run is not None else None

    def journal_lines(self) -> list[tuple[str, str, int]]:
        """(dag_id, task_id, try number) of each try that ran its task."""
        if not self.journal.exists():
            return []
        lines = self.journal.read_text().splitlines()
        return [(d, t, int(n)) for d, t, n, _ in (line.split() for line in lines)]

    def assert_all_done(self) -> None:
        """Every run succeeded, each try ran once, no task instance is left queued or running."""
        with self.sessions() as session:
            runs = session.scalars(select(DagRun)).all()
            assert runs
            assert {run.state for run in runs} == {"success"}
            tis = session.scalars(select(TaskInstance)).all()
            assert {ti.state for ti in tis} == {"success"}
            assert {ti.try_number for ti in tis} == {1}
            expected = sorted((ti.dag_id, ti.task_id, 1) for ti in tis)
        assert sorted(self.journal_lines()) == expected

    # ---- the web server's view -----------------------------------------------------------

    def web(self) -> TestClient:
        """A client on the web server's app, a viewer user made for it."""
        with self.sessions.begin() as session:
            if user_store.get_user(session, VIEWER[0]) is None:
                user_store.create_user(
                    session,
                    username=VIEWER[0],
                    password_hash=passwords.hash_password(VIEWER[1]),
                    role="viewer",
                    email=None,
                    now=utcnow(),
                )
        return TestClient(create_app(self.settings))

    @staticmethod
    def metric(client: TestClient, name: str) -> float | None:
        text = client.get("/metrics", auth=VIEWER).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None


# Fast beats and scans, so that the tests wait seconds, not minutes.
FAST_SECTIONS: dict[str, dict[str, Any]] = {
    "core": {"load_examples": False, "executor": "local", "parallelism": 4},
    "scheduler": {"run_dag_processor": True, "heartbeat_interval": 0.2, "job_timeout": 3.0},
    "dag_processor": {
        "refresh_interval": 0.3,
        "heartbeat_interval": 0.2,
        "health_check_threshold": 2.0,
    },
    "webserver": {"secret_key": "fault-tests-secret-key"},
}


@pytest.fixture(name="make_site")
def make_site_fixture(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Iterator[Callable[..., Site]]:
    """``make_site(db_url, **sections)``: a Site on ``db_url`` with :data:`FAST_SECTIONS`,
    ``sections`` merged over them (import the fixture: ``from dagprocs import
    make_site_fixture  # noqa: F401``)."""
    engines: list[Engine] = []

    def make(db_url: str, **sections: dict[str, Any]) -> Site:
        dags = tmp_path / "dags"
        dags.mkdir()
        merged = {name: dict(values) for name, values in FAST_SECTIONS.items()}
        for name, values in sections.items():
            merged.setdefault(name, {}).update(values)
        merged["core"]["dags_folder"] = str(dags)
        settings = make_settings(tmp_path, db_url, **merged)
        engine = engine_module.create_engine(settings.database)
        engines.append(engine)
        return Site(settings, engine_module.session_factory(engine), dags, tmp_path / "journal")

    yield make
    for engine in engines:
        engine.dispose()
