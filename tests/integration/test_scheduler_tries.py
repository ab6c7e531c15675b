"""How tries end, through the real scheduler and local executor: retries with exponential
backoff, execution_timeout, dagrun_timeout, and a try whose process is killed."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    pid_alive,
    sqlite_only,
    system_fixture,
    wait_gone,
)

from tradewind.states import DagRunState, TaskState


def _pids(journal: Path) -> list[int]:
    return [int(word) for line in journal.read_text().splitlines() for word in line.split()[1:]]


def test_retries_back_off_exponentially_and_keep_each_try_in_the_history(
    system: System, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    system.add_dag(
        "flaky",
        f"""
        def flaky(ti=None):
            note({str(journal)!r}, ti.try_number)
            if ti.try_number < 3:
                raise RuntimeError(f"try {{ti.try_number}} fails")
            return "ok"

        with DAG("flaky", schedule=None):
            PythonOperator(task_id="flaky", python_callable=flaky, retries=2,
                           retry_delay=timedelta(seconds=1), retry_exponential_backoff=True)
        """,
    )
    run_id = system.trigger("flaky")
    assert system.wait("flaky", run_id) == "success"
    assert journal.read_text().split() == ["1", "2", "3"]
    ti = system.instance("flaky", run_id, "flaky")
    assert ti.try_number == 3
    assert ti.state == TaskState.SUCCESS.value
    history = system.history("flaky", run_id, "flaky")
    assert [(h.try_number, h.state) for h in history] == [
        (1, "up_for_retry"),
        (2, "up_for_retry"),
        (3, "success"),
    ]
    # Each retry waited its delay at least: 1 s after the first try, 2 s after the second.
    for before, after, delay in ((history[0], history[1], 1), (history[1], history[2], 2)):
        assert before.end_date is not None
        assert after.start_date is not None
        assert after.start_date - before.end_date >= timedelta(seconds=delay)
    assert system.xcom("flaky", run_id, "flaky") == "ok"


SLOW_TASK = """
import subprocess

def slow(ti=None):
    child = subprocess.Popen(["sleep", "30"])
    note({journal!r}, ti.try_number, os.getpid(), child.pid)
    time.sleep(30)
"""


@sqlite_only  # the timeout is enforced by the runner and the executor, not the database
def test_execution_timeout_fails_the_try_and_kills_what_it_started(
    system: System, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    system.add_dag(
        "timeout",
        SLOW_TASK.format(journal=str(journal))
        + """
with DAG("timeout", schedule=None):
    PythonOperator(task_id="slow", python_callable=slow, execution_timeout=timedelta(seconds=1),
                   retries=1, retry_delay=timedelta(seconds=0))
""",
    )
    run_id = system.trigger("timeout")
    assert system.wait("timeout", run_id) == "failed"
    ti = system.instance("timeout", run_id, "slow")
    assert (ti.state, ti.try_number) == ("failed", 2)
    history = system.history("timeout", run_id, "slow")
    assert [(h.try_number, h.state) for h in history] == [(1, "up_for_retry"), (2, "failed")]
    pids = _pids(journal)
    assert len(pids) == 4
    assert wait_gone(pids) == []


@sqlite_only  # the timeout is found by the scheduler's clock, not by a query
def test_dagrun_timeout_fails_the_run_skips_the_rest_and_stops_the_running_try(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    # The scheduler looks for timed-out runs every job_timeout / 2 seconds.
    system = make_system(scheduler={"job_timeout": 1.0, "heartbeat_interval": 0.2})
    journal = tmp_path / "journal"
    system.add_dag(
        "late",
        SLOW_TASK.format(journal=str(journal))
        + """
with DAG("late", schedule=None, dagrun_timeout=timedelta(seconds=3)):
    quick = PythonOperator(task_id="quick", python_callable=lambda: 1)
    long = PythonOperator(task_id="long", python_callable=slow, retries=2,
                          retry_delay=timedelta(seconds=0))
    quick >> long >> EmptyOperator(task_id="after")
""",
    )
    run_id = system.trigger("late")
    assert system.wait("late", run_id) == "failed"
    pids = _pids(journal)
    assert len(pids) == 2
    assert wait_gone(pids) == []
    # The stopped try reports in too late to count: nothing is retried or left waiting.
    system.settle(1.0)
    assert system.states("late", run_id) == {
        "quick": TaskState.SUCCESS,
        "long": TaskState.SKIPPED,
        "after": TaskState.SKIPPED,
    }
    assert system.instance("late", run_id, "long").try_number == 1
    assert system.run_state("late", run_id) == DagRunState.FAILED.value


@sqlite_only  # a process killed by a signal is noticed by the executor, not the database
def test_a_try_that_kills_itself_is_failed_and_retried(system: System, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    system.add_dag(
        "suicide",
        f"""
        import signal

        def dies_once(ti=None):
            note({str(journal)!r}, ti.try_number, os.getpid())
            if ti.try_number == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            return "second try"

        with DAG("suicide", schedule=None):
            PythonOperator(task_id="dies", python_callable=dies_once, retries=1,
                           retry_delay=timedelta(seconds=0))
        """,
    )
    run_id = system.trigger("suicide")
    assert system.wait("suicide", run_id) == "success"
    ti = system.instance("suicide", run_id, "dies")
    assert (ti.state, ti.try_number) == ("success", 2)
    history = system.history("suicide", run_id, "dies")
    assert [(h.try_number, h.state) for h in history] == [(1, "up_for_retry"), (2, "success")]
    assert system.xcom("suicide", run_id, "dies") == "second try"
    first_pid = int(journal.read_text().splitlines()[0].split()[1])
    assert not pid_alive(first_pid)


def test_a_quick_try_keeps_its_start_pid_and_host(system: System, tmp_path: Path) -> None:
    # A no-op try reports running and finished within milliseconds: both reports usually
    # reach the scheduler together and are written as one change; nothing may be lost.
    journal = tmp_path / "journal"
    system.add_dag(
        "quick",
        f"""
        def quick(ti=None):
            note({str(journal)!r}, os.getpid(), time.time())

        with DAG("quick", schedule=None):
            PythonOperator(task_id="quick", python_callable=quick)
        """,
    )
    run_id = system.trigger("quick")
    assert system.wait("quick", run_id) == "success"
    ti = system.instance("quick", run_id, "quick")
    pid, called = journal.read_text().split()
    assert ti.pid == int(pid)
    assert ti.hostname == socket.gethostname()
    assert ti.start_date is not None
    assert ti.end_date is not None
    assert ti.start_date.timestamp() <= float(called) <= ti.end_date.timestamp()
    assert ti.duration == pytest.approx((ti.end_date - ti.start_date).total_seconds(), abs=1e-3)
