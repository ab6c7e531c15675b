"""A Celery worker killed with SIGKILL in the middle of a try, on real Redis with real
``tradewind celery worker`` processes: its try is failed for want of heartbeat, and the
scheduler then sends the try's retry mail (to an SMTP server the test runs) and runs its
on_retry_callback in a process of its own, and counts it in
``task_instances_without_heartbeats_killed`` (legacy ``zombies_killed``) and
``scheduler.tasks.killed_externally`` (to a StatsD listener the test runs)."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from celerytest import (  # noqa: F401
    BROKERS,
    Brokers,
    WorkerSpec,
    brokers_fixture,
    celery_sections,
    celery_workers,
    isolate,
)
from metric_receivers import StatsdListener, statsd_listener_fixture  # noqa: F401
from receivers import smtp_receiver
from scheduling import System, make_system_fixture, poll, read_journal, wait_gone  # noqa: F401
from test_celery_faults import _runs

pytestmark = [
    BROKERS,
    pytest.mark.parametrize("db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]),
    pytest.mark.timeout(300),
]

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


def test_a_try_whose_worker_went_silent_gets_its_retry_alerts_and_is_counted(
    make_system: Callable[..., System],
    brokers: Brokers,
    statsd_listener: StatsdListener,
    tmp_path: Path,
) -> None:
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
            victim = next(w for w in workers if _runs(w, first.pid))
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait()
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
