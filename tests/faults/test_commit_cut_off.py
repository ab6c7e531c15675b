"""The metastore lost in the middle of the COMMIT that queued tries: the scheduler cannot know
whether it went through. It must neither leave the tries queued forever (it went through, but
they never reached the executor) nor run them twice (it did not, and they are queued again).

The database server is crash-stopped from inside that COMMIT (a listener on the scheduler's
engine, fired just before the driver sends it): once after committing the transaction itself
(the commit went through, its answer was lost), once without (it did not go through).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scheduling import FINISHED_RUN, System, read_journal, running_system, system_sections
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from throwaway import Throwaway

from tradewind.settings import Settings
from tradewind.states import TaskState

FAN_DAG = """
def step(ti=None):
    work({journal!r}, ti=ti)


with DAG("fan", schedule=None):
    [PythonOperator(task_id=f"t{{i}}", python_callable=step) for i in range(3)] >> (
        PythonOperator(task_id="last", python_callable=step)
    )
"""
TASKS = ("t0", "t1", "t2", "last")
# Down for this long, so that the scheduler tries (and fails) a few times meanwhile.
DOWN_FOR = 1.5


@dataclass
class CutOff:
    """The scenarios' set-up on the test's own database server, and the crash in a COMMIT."""

    server: Throwaway
    make_settings: Callable[..., Settings]
    tmp_path: Path
    # Whether the cut-off COMMIT went through (committed before the server was crash-stopped).
    went_through: bool

    @contextmanager
    def triggered(self, dag_id: str, body: str) -> Iterator[tuple[System, str]]:
        """A running system, ``body`` its DAG ``dag_id``, which it has just triggered: the
        system and the run's id."""
        dags = self.tmp_path / "dags"
        dags.mkdir()
        sections = system_sections(core={"dags_folder": str(dags)})
        settings = self.make_settings(self.tmp_path, self.server.url, **sections)
        with running_system(settings, dags) as system:
            system.add_dag(dag_id, body)
            yield system, system.trigger(dag_id)

    @contextmanager
    def crash_in_commit(self, system: System, state: str) -> Iterator[None]:
        """Crash-stop the server in the first COMMIT on the system's engine of a transaction
        that set a task instance to ``state`` (after committing it for real when it is to go
        through); start it again a moment later."""
        server = self.server
        engine: Engine = system.sessions.kw["bind"]
        restart = threading.Timer(DOWN_FOR, server.start)
        fired = threading.Event()

        def on_commit(connection: Connection) -> None:
            raw: Any = connection.connection.dbapi_connection
            if fired.is_set():
                return
            cursor = raw.cursor()
            cursor.execute("SELECT COUNT(*) FROM task_instance WHERE state = %s", (state,))
            if not cursor.fetchone()[0]:
                return
            fired.set()
            if self.went_through:
                raw.commit()
                raw.cursor().execute("SELECT 1")  # a transaction again, for the COMMIT to fail in
            server.stop(crash=True)
            restart.start()

        event.listen(engine, "commit", on_commit)
        try:
            yield
            assert fired.is_set(), f"no commit set a task instance {state}"
        finally:
            event.remove(engine, "commit", on_commit)
            restart.join()


@pytest.fixture(name="cut_off", params=[True, False], ids=["committed", "not-committed"])
def cut_off_fixture(
    request: pytest.FixtureRequest,
    throwaway_db: Throwaway,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> CutOff:
    """Each scenario twice, the cut-off COMMIT going through and not; tradewind's INFO logs
    captured."""
    caplog.set_level(logging.INFO, logger="tradewind")
    return CutOff(throwaway_db, make_settings, tmp_path, went_through=request.param)


def test_tries_queued_by_a_commit_cut_off_by_an_outage_run_once(
    cut_off: CutOff, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal"
    with cut_off.triggered("fan", FAN_DAG.format(journal=str(journal))) as (system, run_id):
        with cut_off.crash_in_commit(system, "queued"):
            assert system.run_until(lambda: finished(system, run_id), timeout=90)
        assert system.run_state("fan", run_id) == "success"
        assert system.states("fan", run_id) == dict.fromkeys(TASKS, TaskState.SUCCESS)
        for task_id in TASKS:
            history = system.history("fan", run_id, task_id)
            assert [(h.try_number, h.state) for h in history] == [(1, "success")], task_id
    entries = read_journal(journal)
    assert sorted((e.task_id, e.try_number) for e in entries) == [(t, 1) for t in sorted(TASKS)]
    outcome = "went through" if cut_off.went_through else "did not go through"
    handed = 3 if cut_off.went_through else 0
    assert f"the commit cut off by the metastore's outage {outcome}" in caplog.text
    assert f"{handed} of 3 queued tries handed over now" in caplog.text


def finished(system: System, run_id: str) -> bool:
    """Whether the run is over; False while the database is away (the test's own look)."""
    try:
        return system.run_state("fan", run_id) in FINISHED_RUN
    except OperationalError:
        return False


KILLED_DAG = """
def die():
    os.kill(os.getpid(), 9)


def mark(context):
    with open({marker!r}, "a") as out:
        out.write(f"{{context['ti'].try_number}}\\n")


with DAG("killed", schedule=None):
    PythonOperator(task_id="gone", python_callable=die, retries=1,
                   retry_delay=timedelta(hours=1), on_retry_callback=mark)
"""


def test_the_alerts_of_a_killed_try_whose_failure_commit_was_cut_off_run_once(
    cut_off: CutOff, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "retried"
    with cut_off.triggered("killed", KILLED_DAG.format(marker=str(marker))) as (system, run_id):

        def retrying() -> bool:
            try:
                return system.state("killed", run_id, "gone") is TaskState.UP_FOR_RETRY
            except OperationalError:
                return False

        with cut_off.crash_in_commit(system, "up_for_retry"):
            # (The scheduler runs in this thread: a cut-off pass is settled by a later pass.)
            assert system.run_until(lambda: retrying() and marker.exists(), timeout=90)
    started = 1 if cut_off.went_through else 0
    assert f"{started} of 1 alerts of tries that failed outside their process" in caplog.text
    assert marker.read_text() == "1\n"
