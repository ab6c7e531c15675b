"""The scheduler's DAG processor killed with SIGKILL mid-run: the scheduler says so and starts
it again, DAG files added afterwards register and run, and ``/health`` and ``/metrics`` show
the processor's own heartbeat, unhealthy while it is stale."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from dagprocs import (  # noqa: F401
    Site,
    children,
    make_site_fixture,
    wait_gone,
    wait_until,
)
from fastapi.testclient import TestClient
from scheduling import tradewind_process

from tradewind.scheduler import supervisor as supervisor_module
from tradewind.scheduler.supervisor import ProcessorSupervisor
from tradewind.settings import Settings

# Its first task runs until the test opens the gate: the run is under way at the kill.
GATED_FIRST = """
import time


def gated(ti=None):
    while not os.path.exists({gate!r}):
        time.sleep(0.05)
    note(ti=ti)


with DAG("first", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(task_id="a", python_callable=gated) >> PythonOperator(
        task_id="b", python_callable=note
    )
"""


def _health(client: TestClient) -> dict[str, object]:
    body: dict[str, object] = client.get("/health").json()["dag_processor"]
    return body


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_killed_dag_processor_is_started_again_and_its_heartbeat_shows_it(
    make_site: Callable[..., Site], migrated_db_url: str, tmp_path: Path
) -> None:
    site = make_site(migrated_db_url)
    web = site.web()
    gate = tmp_path / "gate"
    site.write_dag("first", GATED_FIRST.format(gate=str(gate)))
    log = tmp_path / "scheduler.log"
    with tradewind_process(site.settings, "scheduler", log=log) as scheduler:
        wait_until(lambda: "first" in site.registered(), "the first DAG")
        first = wait_until(site.processor_pid, "the DAG processor's heartbeat")
        assert first in children(scheduler.pid)
        health = _health(web)
        assert health["status"] == "healthy"
        assert health["latest_dag_processor_heartbeat"] is not None
        assert site.metric(web, "tradewind_dag_processor_healthy") == 1

        # Killed while a run is under way.
        run_first = site.trigger("first")
        wait_until(lambda: site.run_state("first", run_first) == "running", "the first run")
        os.kill(first, signal.SIGKILL)
        wait_until(
            lambda: f"DAG processor (pid {first}) was killed by SIGKILL" in log.read_text(),
            "the scheduler to say that its DAG processor was killed",
        )
        second = wait_until(
            lambda: (pid := site.processor_pid()) not in (None, first) and pid,
            "a new DAG processor",
        )
        assert second in children(scheduler.pid)

        # Files added afterwards are registered and run.
        site.write_dag("second", 'simple_dag("second")\n')
        wait_until(lambda: "second" in site.registered(), "the DAG added after the kill")
        run_second = site.trigger("second")
        gate.touch()
        for dag_id, run_id in (("first", run_first), ("second", run_second)):
            wait_until(
                lambda d=dag_id, r=run_id: site.run_state(d, r) == "success",  # type: ignore[misc]
                f"the run of {dag_id} to succeed",
            )

        # A processor that stops heartbeating (stopped, here) is unhealthy until it beats again.
        os.kill(second, signal.SIGSTOP)
        try:
            wait_until(lambda: _health(web)["status"] == "unhealthy", "unhealthy")
            assert site.metric(web, "tradewind_dag_processor_healthy") == 0
            age = site.metric(web, "tradewind_dag_processor_heartbeat_age_seconds")
            assert age is not None
            assert age > site.settings.dag_processor.health_check_threshold
        finally:
            os.kill(second, signal.SIGCONT)
        wait_until(lambda: _health(web)["status"] == "healthy", "healthy again")
        # Stopped is not dead: the scheduler did not start a third one.
        assert site.processor_pid() == second
    site.assert_all_done()
    assert log.read_text().count("starting it again") == 1


def test_a_dag_processor_that_dies_at_once_is_started_again_ever_later(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Its metastore cannot be opened: every processor exits as soon as it starts.
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'missing' / 'tradewind.db'}")
    supervisor = ProcessorSupervisor(settings)
    caplog.set_level(logging.INFO, logger=supervisor_module.__name__)

    def deaths() -> list[str]:
        return [r.getMessage() for r in caplog.records if "starting it again" in r.getMessage()]

    supervisor.start()
    try:
        wait_until(lambda: len(deaths()) >= 3, "three deaths")
    finally:
        supervisor.stop()
    delays = [message.rsplit(" in ", 1)[1] for message in deaths()]
    assert delays[:3] == ["1 s", "2 s", "4 s"]
    assert all("exited with code 1" in message for message in deaths())
    started = [r.getMessage() for r in caplog.records if "DAG processor started" in r.getMessage()]
    pids = [int(message.rsplit(" ", 1)[1].rstrip(")")) for message in started]
    assert wait_gone(pids) == []
