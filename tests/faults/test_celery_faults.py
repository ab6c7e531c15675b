"""The celery executor's faults, on real Redis or RabbitMQ with real ``tradewind celery worker``
processes: the metastore restarted in the middle of a run (a throwaway PostgreSQL that is also the
result backend), and a worker killed with SIGKILL in the middle of a try: its try is retried, and
once failed for want of heartbeat it gets its retry alerts and is counted.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from celerytest import (
    Brokers,
    WorkerSpec,
    celery_sections,
    celery_workers,
    isolate,
    kill_worker_running,
)
from metric_receivers import StatsdListener, statsd_listener_fixture  # noqa: F401
from outages import OutageRun, lines_with, outage_settings, tries_of
from receivers import smtp_receiver
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    poll,
    read_journal,
    running_system,
    scheduler_process,
    wait_gone,
)
from test_celery_failures import _long, _nothing_active, _started, _starts, _system
from throwaway import Throwaway

from tradewind.settings import Settings
from tradewind.states import TaskState

BOTH = pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
ON_POSTGRES = pytest.mark.parametrize(
    "db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]
)


LATE_DAG = """
with DAG("late", schedule=None):
    PythonOperator(task_id="late", python_callable=work, queue={queue!r},
                   op_kwargs={{"journal": {journal!r}}})
"""
LOST = "the celery worker lost the metastore"
BACK = "the celery worker reached the metastore again"


@pytest.mark.parametrize("throwaway_db", ["postgres"], indirect=True)
def test_celery_workers_ride_out_a_metastore_restart(
    throwaway_db: Throwaway,
    brokers: Brokers,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    """Worker w1 runs the outage DAG's tries (the reports of those that end while the database
    is down wait for it); worker w2, frozen (SIGSTOP) until the database is down, then takes a
    try waiting in the broker and claims it once the database is back."""
    iso = isolate(brokers, "redis")
    # The metastore's database is also the result backend (an empty result_backend).
    celery = celery_sections(iso, result_backend="", heartbeat_timeout=15.0)
    executor = {"executor": "celery"}
    settings = outage_settings(
        make_settings, tmp_path, throwaway_db.url, core=executor, celery=celery
    )
    log = tmp_path / "scheduler.log"
    late_queue = iso.queue("late")
    with (
        running_system(settings, settings.core.dags_folder, start=False) as system,
        celery_workers(settings, WorkerSpec("w1"), WorkerSpec("w2", [late_queue])) as workers,
    ):
        w1, w2 = workers
        run = OutageRun(system, tmp_path)
        run.add_dag()
        system.add_dag("late", LATE_DAG.format(journal=str(run.journal), queue=late_queue))
        w2.process.send_signal(signal.SIGSTOP)

        def wake_w2() -> None:
            w2.process.send_signal(signal.SIGCONT)
            assert poll(lambda: bool(lines_with(w2.log, LOST))), w2.tail()

        with scheduler_process(settings, log) as scheduler:
            run.trigger()
            late = system.trigger("late")
            assert poll(lambda: system.state("late", late, "late") == TaskState.QUEUED)
            run.restart(
                throwaway_db, log, "the scheduler lost the metastore", crash=True, meanwhile=wake_w2
            )
            assert poll(run.finished, 120), log.read_text() + w1.tail()
            assert poll(lambda: system.run_state("late", late) == "success", 60), w2.tail()
            assert scheduler.poll() is None, log.read_text()
            assert w1.process.poll() is None
            assert w2.process.poll() is None
        run.assert_each_try_once()
        history = system.history("late", late, "late")
        assert [(h.try_number, h.state) for h in history] == [(1, "success")]
        assert tries_of(run.journal, "late") == [(1, True)]
    for worker in workers:
        assert len(lines_with(worker.log, LOST)) == 1, worker.tail()
        assert len(lines_with(worker.log, BACK)) == 1, worker.tail()
        assert "Traceback" not in worker.log.read_text(errors="replace"), worker.tail()
    assert len(lines_with(log, "the scheduler lost the metastore")) == 1, log.read_text()


@ON_POSTGRES
@BOTH
def test_a_worker_killed_in_the_middle_of_a_try_takes_the_try_along_and_it_is_retried(
    make_system: Callable[..., System], brokers: Brokers, broker: str, tmp_path: Path
) -> None:
    iso = isolate(brokers, broker)
    # A worker's first try starts its fork server before it heartbeats again: on a loaded
    # machine that takes seconds, which must not pass for the second worker being gone.
    system = _system(make_system, iso, heartbeat_timeout=6.0)
    journal = tmp_path / "journal"
    body = _long("victim", journal, retries=1, seconds=4)
    system.add_dag("victim", body)
    with celery_workers(system.settings, WorkerSpec("w1"), WorkerSpec("w2")) as workers:
        run_id = system.trigger("victim")
        # Killed once its worker has reported it running (and the scheduler has seen that).
        assert system.run_until(
            lambda: system.state("victim", run_id, "long") == TaskState.RUNNING, timeout=60
        )
        assert poll(_started(journal, "long"), timeout=30)
        first = read_journal(journal)[0]
        kill_worker_running(workers, first.pid)
        # The try's process dies with its worker, without anyone killing it.
        assert wait_gone([first.pid], timeout=10) == []
        assert system.wait("victim", run_id, timeout=60) == "success"
        _nothing_active(system, "victim", run_id)
    assert _starts(journal, "long") == [1, 2]
    history = system.history("victim", run_id, "long")
    assert [h.state for h in history][:1] == [TaskState.UP_FOR_RETRY]


SILENT = """
def mark(context):
    Path({marker!r}).write_text(json.dumps({{
        "try_number": context["ti"].try_number,
        "exception": str(context["exception"]),
    }}))


with DAG("silent", schedule=None):
    PythonOperator(task_id="long", python_callable=work, retries=1,
                   retry_delay=timedelta(seconds=0), on_retry_callback=mark,
                   email="ops@example.com", email_on_retry=True,
                   op_kwargs={{"journal": {journal!r}, "seconds": 4}})
"""


@ON_POSTGRES
@pytest.mark.timeout(300)
def test_a_try_whose_worker_went_silent_gets_its_retry_alerts_and_is_counted(
    make_system: Callable[..., System],
    brokers: Brokers,
    statsd_listener: StatsdListener,
    tmp_path: Path,
) -> None:
    """A worker killed under a try on Redis: the try is failed for want of heartbeat; the
    scheduler then sends the try's retry mail (to an SMTP server the test runs), runs its
    on_retry_callback in a process of its own, and counts it in
    ``task_instances_without_heartbeats_killed`` (legacy ``zombies_killed``) and
    ``scheduler.tasks.killed_externally`` (to a StatsD listener the test runs)."""
    iso = isolate(brokers, "redis")
    journal, marker = tmp_path / "journal", tmp_path / "retried"
    with smtp_receiver() as smtp:
        system = make_system(
            core={"executor": "celery", "parallelism": 8},
            # A worker's first try starts its fork server before it heartbeats again: on a
            # loaded machine that takes seconds, which must not pass for a worker being gone.
            celery=celery_sections(iso, heartbeat_timeout=6.0),
            metrics={
                "statsd_on": True,
                "statsd_host": "127.0.0.1",
                "statsd_port": statsd_listener.port,
            },
            smtp={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_starttls": False},
            email={"from_email": "tradewind@example.org"},
        )
        body = "import json\n" + SILENT.format(marker=str(marker), journal=str(journal))
        system.add_dag("silent", body)
        with celery_workers(system.settings, WorkerSpec("w1"), WorkerSpec("w2")) as workers:
            run_id = system.trigger("silent")
            assert system.run_until(
                lambda: system.state("silent", run_id, "long") == "running", timeout=60
            )
            assert poll(lambda: bool(read_journal(journal)), timeout=30)
            first = read_journal(journal)[0]
            kill_worker_running(workers, first.pid)
            assert wait_gone([first.pid], timeout=10) == []
            assert system.wait("silent", run_id, timeout=90) == "success"
        mail = smtp.get()
        assert poll(marker.exists)
    assert mail.subject == f"tradewind alert: silent.long up for retry ({run_id})"
    called = json.loads(marker.read_text())
    assert called["try_number"] == 1
    assert "no heartbeat from its worker" in called["exception"]
    silent = "airflow.task_instances_without_heartbeats_killed:1|c"
    assert statsd_listener.wait_for(lambda lines: silent in lines)
    lines = statsd_listener.drain()
    assert lines.count("airflow.zombies_killed:1|c") == 1
    assert lines.count("airflow.scheduler.tasks.killed_externally:1|c") == 1
