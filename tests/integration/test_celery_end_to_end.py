"""Whole DAG runs through the scheduler on the celery executor, with real workers.

Two ``tradewind celery worker`` processes (w1 on the default queue; w2 on the default queue and
on a "special" one) run a fan-out and a chain to success, on Redis and on RabbitMQ, with a
PostgreSQL metastore. Each try notes which worker ran it (the worker's name reaches the try
through its environment). The CLI's worker, flower and stop commands run as real processes.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from celerytest import (
    BROKER_KINDS,
    WORKER_ENV,
    Brokers,
    Isolation,
    Worker,
    WorkerSpec,
    brokers_fixture,  # noqa: F401
    celery_sections,
    celery_workers,
    isolate,
    kill_tree,
)
from scheduling import running_system, system_sections
from triggering import triggerer_process

from tradewind.settings import Settings, child_environ
from tradewind.states import DagRunState, TaskState

pytestmark = pytest.mark.postgres

FAN_OUT = 30
CHAIN = 10
RUN_LIMIT = 120.0

DAG = """
import os

def mark(journal, ti=None):
    note(journal, ti.task_id, os.environ.get("{worker_env}", "?"), os.getpid())

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    start = PythonOperator(task_id="start", python_callable=mark, op_args=["{journal}"])
    end = PythonOperator(task_id="end", python_callable=mark, op_args=["{journal}"])
    for i in range({fan_out}):
        start >> PythonOperator(
            task_id=f"fan_{{i}}", python_callable=mark, op_args=["{journal}"]
        ) >> end
    previous = end
    for i in range({chain}):
        step = PythonOperator(task_id=f"chain_{{i}}", python_callable=mark, op_args=["{journal}"])
        previous >> step
        previous = step
    special = PythonOperator(
        task_id="special", python_callable=mark, op_args=["{journal}"], queue="{special}"
    )
    previous >> special
"""


@pytest.fixture(params=BROKER_KINDS)
def iso(request: pytest.FixtureRequest, brokers: Brokers) -> Isolation:
    return isolate(brokers, request.param)


@pytest.fixture
def celery_settings(
    iso: Isolation, databases: Any, tmp_path: Path, make_settings: Any
) -> Iterator[Settings]:
    url, drop = databases.migrated("postgres", tmp_path)
    (tmp_path / "dags").mkdir()
    sections = system_sections(
        core={"executor": "celery", "dags_folder": str(tmp_path / "dags"), "parallelism": 32},
        celery=celery_sections(iso),
    )
    try:
        yield make_settings(tmp_path, url, **sections)
    finally:
        drop()


def read_marks(journal: Path) -> dict[str, str]:
    """task id -> the worker that ran it."""
    marks = {}
    for line in journal.read_text().splitlines():
        task_id, worker, _pid = line.split()
        marks[task_id] = worker
    return marks


def test_a_fan_out_and_a_chain_succeed_on_two_workers_with_queue_routing(
    celery_settings: Settings, iso: Isolation, tmp_path: Path
) -> None:
    settings = celery_settings
    journal = tmp_path / "journal.txt"
    special = iso.queue("special")
    w1 = WorkerSpec("w1", [settings.celery.default_queue], concurrency=8)
    w2 = WorkerSpec("w2", [settings.celery.default_queue, special], concurrency=8)
    body = DAG.format(
        dag_id="celery_e2e",
        journal=journal,
        fan_out=FAN_OUT,
        chain=CHAIN,
        special=special,
        worker_env=WORKER_ENV,
    )

    with (
        celery_workers(settings, w1, w2) as workers,
        running_system(settings, tmp_path / "dags") as system,
    ):
        # Each worker starts the fork server of its tries as it starts, not at its first try.
        servers = {worker.name: await_fork_server(worker) for worker in workers}
        system.add_dag("celery_e2e", body)
        run_id = system.trigger("celery_e2e")
        state = system.wait("celery_e2e", run_id, timeout=RUN_LIMIT)
        states = system.states("celery_e2e", run_id)
        special_ti = system.instance("celery_e2e", run_id, "special")
        after = {worker.name: fork_servers(worker.process.pid) for worker in workers}

    assert state == DagRunState.SUCCESS.value, states
    assert set(states.values()) == {TaskState.SUCCESS}
    assert len(states) == FAN_OUT + CHAIN + 3
    marks = read_marks(journal)
    assert len(marks) == len(states)  # each task ran once
    assert marks["special"] == "w2"
    # The try reported where it ran; the scheduler recorded it.
    assert special_ti.hostname
    assert special_ti.external_executor_id
    # Both workers took tries from the shared queue.
    assert {marks[f"fan_{i}"] for i in range(FAN_OUT)} <= {"w1", "w2"}
    # ... from the fork servers they had started ahead.
    assert after == servers


def fork_servers(pid: int) -> set[int]:
    """The fork servers started by the worker process ``pid``."""
    import psutil

    module = "tradewind.executors.processes.forkserver"
    found = set()
    for child in psutil.Process(pid).children():
        with suppress(psutil.NoSuchProcess):
            if module in child.cmdline():
                found.add(child.pid)
    return found


def await_fork_server(worker: Worker) -> set[int]:
    limit = time.monotonic() + 30
    while time.monotonic() < limit:
        if found := fork_servers(worker.process.pid):
            return found
        time.sleep(0.05)
    pytest.fail(f"worker {worker.name} started no fork server:\n{worker.tail()}")


# The commands are the same on both brokers; they are checked on Redis.
@pytest.mark.parametrize("iso", ["redis"], indirect=True)
def test_the_cli_runs_a_worker_flower_and_stops_the_workers(
    celery_settings: Settings, tmp_path: Path
) -> None:
    settings = celery_settings
    port = free_port()
    flower = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "celery", "flower", "--port", str(port)],
        env=child_environ(settings),
        stdin=subprocess.DEVNULL,
        stdout=(tmp_path / "flower.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with celery_workers(settings, WorkerSpec("w1", concurrency=2)) as (worker,):
            status = http_status(f"http://127.0.0.1:{port}/", flower)
            stop = subprocess.run(
                [sys.executable, "-m", "tradewind", "celery", "stop"],
                env=child_environ(settings),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            code = worker.process.wait(timeout=60)
    finally:
        kill_tree(flower.pid)
        flower.wait()

    assert status == 200, (tmp_path / "flower.log").read_text()
    assert stop.returncode == 0, stop.stderr
    assert code == 0, worker.tail()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str, process: subprocess.Popen[bytes], limit: float = 60.0) -> int:
    """The HTTP status of ``url`` once the server answers (bounded; fails if it exited)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} never answered")


@pytest.mark.parametrize("iso", ["rabbitmq"], indirect=True)
def test_workers_started_on_one_host_without_a_name_each_get_a_name_of_their_own(
    celery_settings: Settings, tmp_path: Path
) -> None:
    """Two workers with the default node name used to share RabbitMQ's exclusive queue for
    remote control (``<name>.<exchange>.pidbox``): the second died with RESOURCE_LOCKED."""
    settings = celery_settings
    journal = tmp_path / "journal.txt"
    queue = settings.celery.default_queue
    body = DAG.format(
        dag_id="unnamed",
        journal=journal,
        fan_out=FAN_OUT,
        chain=0,
        special=queue,
        worker_env=WORKER_ENV,
    )
    specs = [WorkerSpec("a", [queue], named=False), WorkerSpec("b", [queue], named=False)]

    with celery_workers(settings, *specs) as workers:
        names = worker_names(settings, len(specs))
        with running_system(settings, tmp_path / "dags") as system:
            system.add_dag("unnamed", body)
            run_id = system.trigger("unnamed")
            state = system.wait("unnamed", run_id, timeout=RUN_LIMIT)
        exited = [w.process.poll() for w in workers]

    assert exited == [None, None], "\n".join(w.tail() for w in workers)
    assert len(set(names)) == len(specs), names
    assert state == DagRunState.SUCCESS.value
    assert set(read_marks(journal).values()) == {"a", "b"}


def worker_names(settings: Settings, count: int, limit: float = 60.0) -> list[str]:
    """The node names of the workers that answer a ping, once ``count`` of them do."""
    from tradewind.executors.celery.app import make_app

    app = make_app(settings)
    try:
        end = time.monotonic() + limit
        names: list[str] = []
        while len(names) < count and time.monotonic() < end:
            names = [name for reply in app.control.ping(timeout=1.0) for name in reply]
        return names
    finally:
        app.close()


@pytest.mark.parametrize("iso", ["redis"], indirect=True)
def test_a_deferred_task_resumes_on_a_worker(celery_settings: Settings, tmp_path: Path) -> None:
    settings = celery_settings
    gate = tmp_path / "gate"
    body = f"""
from tradewind.sensors import FileSensor

with DAG("celery_defer", schedule=None):
    FileSensor(task_id="wait", filepath={str(gate)!r}, deferrable=True, poke_interval=0.1,
               timeout=120) >> PythonOperator(task_id="after", python_callable=lambda: "done")
"""
    with (
        celery_workers(settings, WorkerSpec("w1", [settings.celery.default_queue], concurrency=2)),
        running_system(settings, tmp_path / "dags") as system,
        triggerer_process(settings, tmp_path / "triggerer.log"),
    ):
        system.add_dag("celery_defer", body)
        run_id = system.trigger("celery_defer")
        assert system.run_until(
            lambda: system.state("celery_defer", run_id, "wait") is TaskState.DEFERRED, 60
        )
        gate.touch()
        state = system.wait("celery_defer", run_id, timeout=RUN_LIMIT)
        wait = system.instance("celery_defer", run_id, "wait")
    assert state == DagRunState.SUCCESS.value, (wait.state, wait.failure_reason)
    # Resumed on a worker in the same try.
    assert wait.try_number == 1
