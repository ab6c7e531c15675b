"""The metastore restarted in the middle of a run, on a throwaway PostgreSQL or MariaDB server.

A real ``tradewind scheduler`` (local executor) rides it out: tries that run while the database
goes down, finish while it is down, or start after it is back are each recorded once; the run
completes; the scheduler is the same process all along and says once that the metastore was
away and once that it is back. Started while the database is down, it waits; stopped while it
is down, it exits cleanly and the next scheduler takes over. A real ``tradewind webserver``
answers 503 with a message while the database is down, and works again once it is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scheduling import (
    FINISHED_RUN,
    System,
    poll,
    read_journal,
    running_system,
    scheduler_process,
    system_sections,
)
from throwaway import Throwaway
from webprocess import add_admin, web_sections, webserver_process

from tradewind.settings import Settings
from tradewind.states import TaskState

# Three tries end while the database is down, one runs across the whole outage, three more
# start only after it is back.
OUTAGE_DAG = """
JOURNAL = {journal!r}


def ends_in_outage(ti=None):
    work(JOURNAL, gate={during!r}, ti=ti)


def spans_outage(ti=None):
    work(JOURNAL, gate={after!r}, ti=ti)


def plain(ti=None):
    work(JOURNAL, ti=ti)


with DAG("outage", schedule=None, max_active_tasks=16):
    ends = [
        PythonOperator(task_id=f"ends_{{i}}", python_callable=ends_in_outage) for i in range(3)
    ]
    spans = PythonOperator(task_id="spans", python_callable=spans_outage)
    join = EmptyOperator(task_id="join")
    ends >> join
    spans >> join
    join >> [PythonOperator(task_id=f"after_{{i}}", python_callable=plain) for i in range(3)]
"""
FIRST = ("ends_0", "ends_1", "ends_2", "spans")
TASKS = (*FIRST, "join", "after_0", "after_1", "after_2")
PYTHON_TASKS = tuple(t for t in TASKS if t != "join")
# Longer than the scheduler's job_timeout below: its heartbeat goes stale meanwhile.
DOWN_FOR = 3.0
LOST = "the scheduler lost the metastore"
BACK = "the scheduler reached the metastore again"


def outage_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, url: str, **sections: dict[str, Any]
) -> Settings:
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    merged = system_sections(
        core={"dags_folder": str(dags), "parallelism": 8},
        scheduler={"job_timeout": 2.0, "heartbeat_interval": 0.5},
    )
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return make_settings(tmp_path, url, **merged)


def lines_with(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if text in line]


def tries_of(journal: Path, task_id: str) -> list[tuple[int, bool]]:
    """(try number, ended) of each try of ``task_id`` that started."""
    return [
        (e.try_number, e.end is not None) for e in read_journal(journal) if e.task_id == task_id
    ]


def assert_each_try_once(system: System, run_id: str, journal: Path) -> None:
    """The run succeeded; every task ran once, as try 1, and nothing is queued or running."""
    assert system.run_state("outage", run_id) == "success"
    assert system.states("outage", run_id) == dict.fromkeys(TASKS, TaskState.SUCCESS)
    for task_id in TASKS:
        assert system.instance("outage", run_id, task_id).try_number == 1
        history = system.history("outage", run_id, task_id)
        assert [(h.try_number, h.state) for h in history] == [(1, "success")], task_id
    for task_id in PYTHON_TASKS:
        assert tries_of(journal, task_id) == [(1, True)], task_id


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "crashed"])
def test_the_scheduler_rides_out_a_metastore_restart(
    throwaway_db: Throwaway,
    crash: bool,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url)
    journal, during, after = tmp_path / "journal", tmp_path / "during", tmp_path / "after"
    log = tmp_path / "scheduler.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        system.add_dag(
            "outage",
            OUTAGE_DAG.format(journal=str(journal), during=str(during), after=str(after)),
        )
        with scheduler_process(settings, log) as scheduler:
            run_id = system.trigger("outage")
            running = {TaskState.RUNNING}
            assert poll(
                lambda: (
                    {system.state("outage", run_id, t) for t in FIRST} == running
                    and all(tries_of(journal, t) for t in FIRST)
                )
            ), log.read_text()
            throwaway_db.stop(crash=crash)
            during.touch()
            # Three tries end while the database is down; the scheduler finds it away.
            assert poll(lambda: all(tries_of(journal, t) == [(1, True)] for t in FIRST[:3]))
            assert poll(lambda: bool(lines_with(log, LOST))), log.read_text()
            time.sleep(DOWN_FOR)  # the outage itself: longer than the job_timeout
            throwaway_db.start()
            after.touch()
            assert poll(lambda: system.run_state("outage", run_id) in FINISHED_RUN, 90), (
                log.read_text()
            )
            assert scheduler.poll() is None, log.read_text()
        assert_each_try_once(system, run_id, journal)
    assert len(lines_with(log, LOST)) == 1, log.read_text()
    assert len(lines_with(log, BACK)) == 1, log.read_text()
    assert "Traceback" not in log.read_text()


def test_a_scheduler_started_while_the_metastore_is_down_waits_for_it(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url)
    journal, log = tmp_path / "journal", tmp_path / "scheduler.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        system.add_dag("outage", OUTAGE_DAG.format(journal=str(journal), during="", after=""))
        run_id = system.trigger("outage")
        throwaway_db.stop()
        with scheduler_process(settings, log) as scheduler:
            waiting = "the scheduler waits for the metastore"
            assert poll(lambda: bool(lines_with(log, waiting))), log.read_text()
            throwaway_db.start()
            assert poll(lambda: system.run_state("outage", run_id) in FINISHED_RUN, 90), (
                log.read_text()
            )
            assert scheduler.poll() is None, log.read_text()
        assert_each_try_once(system, run_id, journal)
    assert len(lines_with(log, waiting)) == 1, log.read_text()
    assert len(lines_with(log, "the scheduler reached the metastore at")) == 1, log.read_text()


def test_a_scheduler_stopped_during_an_outage_leaves_its_tries_to_the_next_one(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url)
    journal, during, after = tmp_path / "journal", tmp_path / "during", tmp_path / "after"
    log = tmp_path / "scheduler.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        system.add_dag(
            "outage",
            OUTAGE_DAG.format(journal=str(journal), during=str(during), after=str(after)),
        )
        run_id = system.trigger("outage")
        with scheduler_process(settings, log) as first:
            assert poll(lambda: all(tries_of(journal, t) for t in FIRST)), log.read_text()
            throwaway_db.stop()
            during.touch()  # three tries end; their reports cannot be recorded
            assert poll(lambda: all(tries_of(journal, t) == [(1, True)] for t in FIRST[:3]))
            assert poll(lambda: bool(lines_with(log, LOST))), log.read_text()
            first.terminate()
            assert first.wait(timeout=60) == 0, log.read_text()
        assert len(lines_with(log, "stopping with the metastore away")) == 1, log.read_text()
        throwaway_db.start()
        after.touch()
        with scheduler_process(settings, log):
            assert poll(lambda: system.run_state("outage", run_id) in FINISHED_RUN, 90), (
                log.read_text()
            )
        assert system.run_state("outage", run_id) == "success", log.read_text()
        assert system.states("outage", run_id) == dict.fromkeys(TASKS, TaskState.SUCCESS)
        # The stopped scheduler's tries were reset by the next one (its rule for the tries of a
        # scheduler that is gone): their first try counts as failed, a second one ran once.
        for task_id in FIRST:
            history = system.history("outage", run_id, task_id)
            assert [(h.try_number, h.state) for h in history] == [(1, "failed"), (2, "success")]
            assert [n for n, _ in tries_of(journal, task_id)] == [1, 2]
        for task_id in ("after_0", "after_1", "after_2"):
            assert tries_of(journal, task_id) == [(1, True)]
    assert "Traceback" not in log.read_text()


def test_the_web_server_answers_503_while_the_metastore_is_away(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url, **web_sections())
    log = tmp_path / "webserver.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        add_admin(system)
        system.add_dag("outage", OUTAGE_DAG.format(journal="", during="", after=""))
        with webserver_process(settings, log) as web:
            assert web.get("/api/v1/dags").status_code == 200
            throwaway_db.stop(crash=True)
            for answer in (
                web.get("/api/v1/dags"),
                web.get("/api/v1/dags/outage/dagRuns"),
                web.post("/api/v1/variables", json={"key": "k", "value": "v"}),
                web.get("/metrics"),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["detail"].startswith("the metastore"), answer.text
                assert answer.headers["retry-after"]
            health = web.get("/health")
            assert health.status_code == 200
            assert health.json()["metadatabase"]["status"] == "unhealthy"
            throwaway_db.start()
            assert poll(web.answers("/api/v1/dags", 200)), log.read_text()
            created = web.post("/api/v1/variables", json={"key": "k", "value": "v"})
            assert created.status_code in (200, 201), created.text
            assert web.process.poll() is None
    text = log.read_text(errors="replace")
    assert len(lines_with(log, "the web server lost the metastore")) == 1, text
    assert len(lines_with(log, "the web server reached the metastore again")) == 1, text
    assert "Traceback" not in text
