"""Processes started while their metastore (a throwaway PostgreSQL or MariaDB server of the
test's own) is down: each stays up, says once that it waits, and works once the server is up.

- ``tradewind webserver`` answers ``/health`` (the metastore unhealthy: it cannot be reached)
  and 503 elsewhere meanwhile;
- ``tradewind standalone`` waits before it sets up, and its first start still creates the
  schema and the admin user;
- ``tradewind celery worker`` takes no try before the metastore answers, then runs them.

(``tradewind scheduler`` does the same: see test_metastore_outage.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from celerytest import (
    Brokers,
    WorkerSpec,
    celery_sections,
    isolate,
    kill_tree,
    start_worker,
    wait_ready,
)
from outages import OutageRun, lines_with, outage_settings
from scheduling import poll, running_system, scheduler_process, tradewind_process
from throwaway import SERVERS, Throwaway
from webprocess import add_admin, web_sections, webserver_process

from tradewind.settings import Settings


@pytest.fixture(params=["postgres", "mysql"])
def empty_db(request: pytest.FixtureRequest) -> Iterator[Throwaway]:
    """A throwaway server with an empty ``tradewind`` database (no schema), running."""
    server = SERVERS[request.param]()
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_a_web_server_started_while_the_metastore_is_down_answers_and_waits_for_it(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, throwaway_db.url, **web_sections())
    log = tmp_path / "webserver.log"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        add_admin(system)
        system.sessions.kw["bind"].dispose()
        throwaway_db.stop()
        with webserver_process(settings, log) as web:
            health = web.get("/health")
            assert health.status_code == 200
            metastore = health.json()["metadatabase"]
            assert metastore == {"status": "unhealthy", "detail": "the metastore cannot be reached"}
            answer = web.get("/api/v1/dags")
            assert answer.status_code == 503, answer.text
            assert answer.json()["detail"].startswith("the metastore"), answer.text
            assert poll(lambda: bool(lines_with(log, "the web server waits for the metastore")))
            throwaway_db.start()
            assert poll(web.answers("/api/v1/dags", 200)), log.read_text()
            assert web.get("/health").json()["metadatabase"]["status"] == "healthy"
            assert web.process.poll() is None
    text = log.read_text(errors="replace")
    assert len(lines_with(log, "the web server waits for the metastore")) == 1, text
    assert len(lines_with(log, "the web server reached the metastore after")) == 1, text
    assert not lines_with(log, "the web server lost the metastore"), text
    assert "Traceback" not in text


def test_standalone_started_while_the_metastore_is_down_waits_then_sets_it_up(
    empty_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, empty_db.url, **web_sections())
    log = tmp_path / "standalone.log"
    base = f"http://{settings.webserver.host}:{settings.webserver.port}"
    waiting = "tradewind standalone waits for the metastore"
    empty_db.stop()
    with tradewind_process(settings, "standalone", log=log) as standalone:
        assert poll(lambda: bool(lines_with(log, waiting))), log.read_text()
        assert standalone.poll() is None, log.read_text()
        empty_db.start()
        assert poll(lambda: _healthy(base), 90), log.read_text()
        # The first start created the schema and the admin user.
        password = (tmp_path / "standalone_admin_password.txt").read_text().strip()
        dags = httpx.get(f"{base}/api/v1/dags", auth=("admin", password), timeout=30)
        assert dags.status_code == 200, dags.text
        assert standalone.poll() is None, log.read_text()
    text = log.read_text(errors="replace")
    assert len(lines_with(log, waiting)) == 1, text
    assert len(lines_with(log, "tradewind standalone reached the metastore at")) == 1, text
    assert "Traceback" not in text


def _healthy(base: str) -> bool:
    try:
        health = httpx.get(f"{base}/health", timeout=30).json()
    except httpx.HTTPError:
        return False
    return bool(
        health["metadatabase"]["status"] == "healthy" and health["scheduler"]["status"] == "healthy"
    )


@pytest.mark.parametrize("throwaway_db", ["postgres"], indirect=True)
def test_a_celery_worker_started_while_the_metastore_is_down_waits_for_it(
    throwaway_db: Throwaway,
    brokers: Brokers,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    iso = isolate(brokers, "redis")
    # The metastore's database is also the result backend (an empty result_backend).
    celery = celery_sections(iso, result_backend="")
    settings = outage_settings(
        make_settings, tmp_path, throwaway_db.url, core={"executor": "celery"}, celery=celery
    )
    waiting = "the celery worker waits for the metastore"
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        run = OutageRun(system, tmp_path)
        run.add_dag(gated=False)
        run.trigger()
        system.sessions.kw["bind"].dispose()
        throwaway_db.stop()
        worker = start_worker(settings, WorkerSpec("w1"))
        try:
            assert poll(lambda: bool(lines_with(worker.log, waiting))), worker.tail()
            assert worker.process.poll() is None, worker.tail()
            throwaway_db.start()
            wait_ready(worker)
            with scheduler_process(settings, tmp_path / "scheduler.log"):
                assert poll(run.finished, 120), worker.tail()
            assert worker.process.poll() is None, worker.tail()
        finally:
            kill_tree(worker.process.pid)
            worker.process.wait()
        run.assert_each_try_once()
    text = worker.log.read_text(errors="replace")
    assert len(lines_with(worker.log, waiting)) == 1, text
    assert len(lines_with(worker.log, "the celery worker reached the metastore at")) == 1, text
    assert not lines_with(worker.log, "the celery worker lost the metastore"), text
    assert "Traceback" not in text
