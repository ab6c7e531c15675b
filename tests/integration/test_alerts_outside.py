"""Alerts of tries that fail outside their own process (killed by a signal, as by the OOM
killer): the scheduler runs their email_on_failure / email_on_retry mail and their
on_failure_callback / on_retry_callback in a process of its own, with the try's context, through
the real scheduler, local executor and an SMTP server (aiosmtpd) the tests start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from receivers import smtp_receiver
from scheduling import System, make_system_fixture, poll, sqlite_only  # noqa: F401

from tradewind import tasklogs
from tradewind.states import DagRunState, TaskState
from tradewind.workloads import TaskKey

pytestmark = [sqlite_only, pytest.mark.timeout(180)]


def _system(make_system: Callable[..., System], port: int) -> System:
    return make_system(
        smtp={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False},
        email={"from_email": "tradewind@example.org"},
    )


KILLED = """
import os
import json


def die():
    os.kill(os.getpid(), 9)


def mark(context):
    ti = context["ti"]
    Path({marker!r}).write_text(json.dumps({{
        "task_id": ti.task_id,
        "try_number": ti.try_number,
        "run_id": context["dag_run"].run_id,
        "exception": str(context["exception"]),
    }}))


with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="load", python_callable=die, email="ops@example.com", {extra})
"""


def _read(marker: Path) -> dict[str, Any]:
    assert poll(marker.exists)
    found: dict[str, Any] = json.loads(marker.read_text())
    return found


def test_a_killed_try_sends_its_failure_mail_and_runs_its_failure_callback(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    marker = tmp_path / "failed"
    extra = "email_on_failure=True, on_failure_callback=mark, on_retry_callback=mark"
    with smtp_receiver() as smtp:
        system = _system(make_system, smtp.port)
        system.add_dag("killed", KILLED.format(dag_id="killed", marker=str(marker), extra=extra))
        run_id = system.trigger("killed")
        assert system.wait("killed", run_id) == DagRunState.FAILED.value
        mail = smtp.get()
        called = _read(marker)
        later = smtp.pending()
    assert mail.recipients == ["ops@example.com"]
    assert mail.subject == f"tradewind alert: killed.load failed ({run_id})"
    assert "Try 1 out of 1" in mail.body
    assert "SIGKILL" in mail.body
    assert called["task_id"] == "load"
    assert called["try_number"] == 1
    assert called["run_id"] == run_id
    assert "ended without reporting" in called["exception"]
    assert "SIGKILL" in called["exception"]
    assert later == []
    key = TaskKey("killed", run_id, "load", -1, 1)
    text = tasklogs.log_path(system.settings.logging.base_log_folder, key).read_text()
    assert "running its failure alerts" in text


def test_a_killed_try_with_retries_left_sends_its_retry_mail_and_callback(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    marker = tmp_path / "retried"
    extra = (
        "retries=1, retry_delay=timedelta(hours=1), email_on_retry=True, email_on_failure=True, "
        "on_retry_callback=mark"
    )
    with smtp_receiver() as smtp:
        system = _system(make_system, smtp.port)
        system.add_dag("killed2", KILLED.format(dag_id="killed2", marker=str(marker), extra=extra))
        run_id = system.trigger("killed2")
        retrying = TaskState.UP_FOR_RETRY
        assert system.run_until(lambda: system.state("killed2", run_id, "load") is retrying)
        mail = smtp.get()
        called = _read(marker)
    assert mail.recipients == ["ops@example.com"]
    assert mail.subject == f"tradewind alert: killed2.load up for retry ({run_id})"
    assert "Try 1 out of 2" in mail.body
    assert called["try_number"] == 1
    assert "SIGKILL" in called["exception"]
