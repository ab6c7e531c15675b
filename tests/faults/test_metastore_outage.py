"""The metastore restarted in the middle of a run, on a throwaway PostgreSQL or MariaDB server.

A real ``tradewind scheduler`` (local executor) rides it out: tries that run while the database
goes down, finish while it is down, or start after it is back are each recorded once; the run
completes; the scheduler is the same process all along and says once that the metastore was
away and once that it is back. Started while the database is down, it waits; stopped while it
is down, it exits cleanly and the next scheduler takes over. A real ``tradewind webserver``
answers 503 with a message while the database is down, and works again once it is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from outages import AFTER, ENDS, FIRST, TASKS, OutageRun, lines_with, outage_settings, tries_of
from scheduling import poll, running_system, scheduler_process
from throwaway import Throwaway
from webprocess import add_admin, web_sections, webserver_process

from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage
from tradewind.settings import DatabaseSettings, Settings
from tradewind.states import TaskState

LOST = "the scheduler lost the metastore"
BACK = "the scheduler reached the metastore again"


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "crashed"])
def test_the_scheduler_rides_out_a_metastore_restart(
    throwaway_db: Throwaway,
    crash: bool,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url)
    log = tmp_path / "scheduler.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        run = OutageRun(system, tmp_path)
        run.add_dag()
        with scheduler_process(settings, log) as scheduler:
            run.trigger()
            run.restart(throwaway_db, log, LOST, crash=crash)
            assert poll(run.finished, 90), log.read_text()
            assert scheduler.poll() is None, log.read_text()
        run.assert_each_try_once()
    assert len(lines_with(log, LOST)) == 1, log.read_text()
    assert len(lines_with(log, BACK)) == 1, log.read_text()
    assert "Traceback" not in log.read_text()


def test_a_scheduler_started_while_the_metastore_is_down_waits_for_it(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url)
    log = tmp_path / "scheduler.log"
    waiting = "the scheduler waits for the metastore"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        run = OutageRun(system, tmp_path)
        run.add_dag(gated=False)
        run.trigger()
        throwaway_db.stop()
        with scheduler_process(settings, log) as scheduler:
            assert poll(lambda: bool(lines_with(log, waiting))), log.read_text()
            throwaway_db.start()
            assert poll(run.finished, 90), log.read_text()
            assert scheduler.poll() is None, log.read_text()
        run.assert_each_try_once()
    assert len(lines_with(log, waiting)) == 1, log.read_text()
    assert len(lines_with(log, "the scheduler reached the metastore at")) == 1, log.read_text()


def test_a_scheduler_stopped_during_an_outage_leaves_its_tries_to_the_next_one(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url)
    log = tmp_path / "scheduler.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        run = OutageRun(system, tmp_path)
        run.add_dag()
        run_id = run.trigger()
        with scheduler_process(settings, log) as first:
            assert poll(run.first_tries_run), log.read_text()
            throwaway_db.stop()
            run.end_during()  # their reports cannot be recorded
            assert poll(lambda: bool(lines_with(log, LOST))), log.read_text()
            first.terminate()
            assert first.wait(timeout=60) == 0, log.read_text()
        assert len(lines_with(log, "stopping with the metastore away")) == 1, log.read_text()
        throwaway_db.start()
        (tmp_path / "after").touch()
        with scheduler_process(settings, log):
            assert poll(run.finished, 90), log.read_text()
        assert system.run_state("outage", run_id) == "success", log.read_text()
        assert system.states("outage", run_id) == dict.fromkeys(TASKS, TaskState.SUCCESS)
        # The stopped scheduler's tries were reset by the next one (its rule for the tries of a
        # scheduler that is gone): their first try counts as failed, a second one ran once.
        for task_id in FIRST:
            history = system.history("outage", run_id, task_id)
            assert [(h.try_number, h.state) for h in history] == [(1, "failed"), (2, "success")]
            assert [n for n, _ in tries_of(run.journal, task_id)] == [1, 2]
        for task_id in AFTER:
            assert tries_of(run.journal, task_id) == [(1, True)]
        assert all(tries_of(run.journal, t)[0] == (1, True) for t in ENDS)
    assert "Traceback" not in log.read_text()


def test_the_web_server_answers_503_while_the_metastore_is_away(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url, **web_sections())
    log = tmp_path / "webserver.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        add_admin(system)
        OutageRun(system, tmp_path).add_dag(gated=False)
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


def test_the_pool_says_nothing_of_connections_lost_in_an_outage(
    throwaway_db: Throwaway, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection given back to the pool after the database went away cannot be reset: the
    pool logs that with a traceback, which the processes' log handler drops (the part that
    meets the outage says so in one line)."""
    engine = engine_module.create_engine(DatabaseSettings(url=throwaway_db.url))
    kept: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = kept.append  # type: ignore[method-assign]
    handler.addFilter(outage.quiet_pool)
    logging.getLogger().addHandler(handler)
    try:
        connection = engine.connect()
        raw: Any = connection.connection.dbapi_connection
        raw.cursor().execute("SELECT 1")  # a transaction the pool's reset must roll back
        throwaway_db.stop(crash=True)
        with caplog.at_level(logging.ERROR, logger="sqlalchemy.pool"):
            connection.close()
    finally:
        logging.getLogger().removeHandler(handler)
        engine.dispose()
    assert [r.getMessage() for r in caplog.records] == ["Exception during reset or similar"]
    assert kept == []
