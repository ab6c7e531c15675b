"""What must not go wrong with the celery executor, on real Redis and RabbitMQ with real workers.

A message delivered twice runs its try once; a try longer than Redis's visibility timeout is
neither killed nor run again; a broker restarted in the middle of a run (a throwaway server of
the test's own) loses and duplicates nothing; a try no worker listens for fails after
``celery.queued_timeout``; a scheduler killed with SIGKILL and started again adopts the try
running on a worker.

The scheduler runs in the test's thread (``System``) except in the adoption test; the metastore
is PostgreSQL (several processes write it at once). A worker killed with SIGKILL is a fault
test (tests/faults/test_celery_faults.py).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from brokerservers import throwaway_broker
from celerytest import (  # noqa: F401
    Brokers,
    Isolation,
    WorkerSpec,
    brokers_fixture,
    celery_sections,
    celery_workers,
    isolate,
    kill_tree,
)
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    pid_alive,
    read_journal,
    running_system,
    scheduler_process,
    system_sections,
    wait_gone,
)

from tradewind.executors.celery.app import TASK_NAME, make_app, task_id_for
from tradewind.executors.processes.runners import DEFAULT_RUNNER
from tradewind.metastore.store import claims
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload

pytestmark = [
    pytest.mark.parametrize("db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)]),
]
BOTH = pytest.mark.parametrize("broker", ["redis", "rabbitmq"])

LONG_DAG = """
with DAG("{dag_id}", schedule=None):
    PythonOperator(task_id="long", python_callable=work, retries={retries},
                   retry_delay=timedelta(seconds=0),
                   op_kwargs={{"journal": {journal!r}, "seconds": {seconds}, "gate": {gate!r}}})
"""

CHAIN_DAG = """
with DAG("chain", schedule=None):
    previous = None
    for n in range(6):
        step = PythonOperator(task_id=f"s{{n}}", python_callable=work,
                              op_kwargs={{"journal": {journal!r}, "seconds": 0.5}})
        if previous is not None:
            previous >> step
        previous = step
"""


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def _system(make_system: Callable[..., System], iso: Isolation, **celery: Any) -> System:
    return make_system(
        core={"executor": "celery", "parallelism": 8}, celery=celery_sections(iso, **celery)
    )


def _long(
    dag_id: str, journal: Path, *, retries: int, seconds: float, gate: Path | None = None
) -> str:
    return LONG_DAG.format(
        dag_id=dag_id,
        retries=retries,
        journal=str(journal),
        seconds=seconds,
        gate=None if gate is None else str(gate),
    )


def _started(journal: Path, task_id: str, count: int = 1) -> Callable[[], bool]:
    return lambda: sum(e.task_id == task_id for e in read_journal(journal)) >= count


def _starts(journal: Path, task_id: str) -> list[int]:
    """The try numbers of the tries of ``task_id`` that started, in order."""
    return [e.try_number for e in read_journal(journal) if e.task_id == task_id]


def _nothing_active(system: System, dag_id: str, run_id: str) -> None:
    states = system.states(dag_id, run_id)
    assert not {TaskState.QUEUED, TaskState.RUNNING} & set(states.values()), states


@BOTH
def test_a_message_delivered_twice_runs_its_try_once(
    make_system: Callable[..., System], brokers: Brokers, broker: str, tmp_path: Path
) -> None:
    iso = isolate(brokers, broker)
    system = _system(make_system, iso)
    journal = tmp_path / "journal"
    body = _long("dup", journal, retries=0, seconds=3)
    system.add_dag("dup", body)
    with celery_workers(system.settings, WorkerSpec("w1"), WorkerSpec("w2")):
        run_id = system.trigger("dup")
        assert system.run_until(_started(journal, "long"), timeout=60)
        # The same message again (same task id), as a redelivery or a resend would bring it.
        key = TaskKey("dup", run_id, "long", -1, 1)
        ti = system.instance("dup", run_id, "long")
        workload = Workload(key, ti_file(system, "dup"), queue=system.settings.celery.default_queue)
        app = make_app(system.settings)
        try:
            for _ in range(2):
                app.send_task(
                    TASK_NAME,
                    args=[workload.to_json(), DEFAULT_RUNNER],
                    task_id=task_id_for(key),
                    queue=workload.queue,
                )
        finally:
            app.close()
        assert system.wait("dup", run_id) == "success"
        system.settle(1.5)  # the extra deliveries reach a worker and are dropped
    assert ti.external_executor_id == task_id_for(key)
    assert _starts(journal, "long") == [1]
    assert system.instance("dup", run_id, "long").try_number == 1
    with system.sessions() as session:
        found = claims.claim_of(session, key)
    assert found is not None
    assert found.celery_task_id == task_id_for(key)


def ti_file(system: System, dag_id: str) -> str:
    return str(system.dags / f"{dag_id}.py")


@BOTH
def test_a_message_for_a_task_instance_this_metastore_lacks_is_dropped_once(
    make_system: Callable[..., System], brokers: Brokers, broker: str, tmp_path: Path
) -> None:
    """A leftover message of another installation sharing the broker, or of a run deleted
    since, runs nothing: the worker logs it, takes it off the broker for good, and goes on."""
    iso = isolate(brokers, broker)
    system = _system(make_system, iso)
    journal = tmp_path / "journal"
    system.add_dag("here", _long("here", journal, retries=0, seconds=0))
    queue = system.settings.celery.default_queue
    stray = Workload(TaskKey("here", "manual__gone", "long"), ti_file(system, "here"), queue=queue)
    with celery_workers(system.settings, WorkerSpec("w1")) as (worker,):
        app = make_app(system.settings)
        try:
            app.send_task(
                TASK_NAME,
                args=[stray.to_json(), DEFAULT_RUNNER],
                task_id=task_id_for(stray.key),
                queue=queue,
            )
        finally:
            app.close()
        run_id = system.trigger("here")
        assert system.wait("here", run_id) == "success"
        dropped = f"dropping message {task_id_for(stray.key)}"
        assert _wait(lambda: dropped in worker.log.read_text(errors="replace")), worker.tail()
        assert _wait(lambda: _messages_left(iso, queue) == 0), worker.tail()
        lines = [line for line in worker.log.read_text().splitlines() if dropped in line]
    assert len(lines) == 1, lines
    assert "this metastore has no such task instance" in lines[0]
    assert _starts(journal, "long") == [1]
    # The stray try never started: it has no log.
    assert not (
        system.settings.logging.base_log_folder / "dag_id=here" / "run_id=manual__gone"
    ).exists()


def _messages_left(iso: Isolation, queue: str) -> int:
    """Messages of ``queue`` still on the broker, waiting or taken but not acknowledged."""
    if iso.kind == "redis":
        db = iso.broker_url.rsplit("/", 1)[1]
        counts = [
            _redis(db, "LLEN", f"{iso.prefix}:{queue}"),
            _redis(db, "HLEN", f"{iso.prefix}:unacked"),
        ]
        return sum(counts)
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "messages"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sum(
        int(n) for name, n in (line.split() for line in listing.splitlines()) if name == queue
    )


def _redis(db: str, *command: str) -> int:
    done = subprocess.run(
        ["redis-cli", "-n", db, *command], check=True, capture_output=True, text=True
    )
    return int(done.stdout.strip())


def test_a_try_longer_than_the_visibility_timeout_is_neither_killed_nor_run_again(
    make_system: Callable[..., System], brokers: Brokers, tmp_path: Path
) -> None:
    iso = isolate(brokers, "redis")
    # Taken messages come back after 2 s, looked for every second (Redis transport options).
    transport = {"visibility_timeout": 2.0, "unacked_restore_interval": 1}
    transport["unacked_restore_throttle"] = 1
    system = _system(
        make_system,
        iso,
        visibility_timeout=2.0,
        options={**iso.options, "broker_transport_options": transport},
    )
    journal = tmp_path / "journal"
    gate = tmp_path / "gate"
    system.add_dag("slow", _long("slow", journal, retries=1, seconds=0, gate=gate))
    with celery_workers(system.settings, WorkerSpec("w1"), WorkerSpec("w2")) as workers:
        run_id = system.trigger("slow")

        def dropped() -> bool:
            return any("claimed already" in w.log.read_text(errors="replace") for w in workers)

        # The try runs on past the visibility timeout until its message came back and was
        # dropped; then it may finish.
        assert system.run_until(dropped, timeout=60)
        assert system.state("slow", run_id, "long") == TaskState.RUNNING
        gate.touch()
        assert system.wait("slow", run_id, timeout=60) == "success"
    assert _starts(journal, "long") == [1]
    assert system.instance("slow", run_id, "long").try_number == 1


@BOTH
def test_a_broker_restarted_in_the_middle_of_a_run_loses_and_duplicates_nothing(
    make_system: Callable[..., System], brokers: Brokers, broker: str, tmp_path: Path
) -> None:
    # A broker of this test's own: the shared one serves other tests meanwhile.
    with throwaway_broker(broker) as server:
        iso = isolate(brokers, broker, server.url)
        # Workers keep trying to store reports while the backend (Redis itself) is away.
        retry = {
            "result_backend_always_retry": True,
            "result_backend_max_retries": 40,
            "result_backend_max_sleep_between_retries_ms": 500,
        }
        system = _system(
            make_system,
            iso,
            resend_interval=3.0,
            heartbeat_timeout=15.0,
            options={**iso.options, **retry},
        )
        journal = tmp_path / "journal"
        system.add_dag("chain", CHAIN_DAG.format(journal=str(journal)))
        with celery_workers(system.settings, WorkerSpec("w1"), WorkerSpec("w2")):
            run_id = system.trigger("chain")
            assert system.run_until(_started(journal, "s1"), timeout=60)
            server.stop()
            system.settle(2.0)  # the scheduler goes on while the broker is away
            server.start()
            assert system.wait("chain", run_id, timeout=120) == "success"
            _nothing_active(system, "chain", run_id)
    starts = [(e.task_id, e.try_number) for e in read_journal(journal)]
    assert starts == [(f"s{n}", 1) for n in range(6)]


@BOTH
def test_a_try_no_worker_listens_for_fails_after_the_queued_timeout(
    make_system: Callable[..., System],
    brokers: Brokers,
    broker: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    iso = isolate(brokers, broker)
    system = _system(make_system, iso, queued_timeout=3.0, resend_interval=1.0)
    nobody = iso.queue("nobody")
    system.add_dag(
        "stranded",
        f"""
        with DAG("stranded", schedule=None):
            EmptyOperator(task_id="here") >> EmptyOperator(task_id="there", queue={nobody!r})
        """,
    )
    with celery_workers(system.settings, WorkerSpec("w1")):
        run_id = system.trigger("stranded")
        assert system.wait("stranded", run_id, timeout=60) == "failed"
    assert system.state("stranded", run_id, "here") == TaskState.SUCCESS
    assert system.state("stranded", run_id, "there") == TaskState.FAILED
    _nothing_active(system, "stranded", run_id)
    assert f"no worker took it from queue '{nobody}' within 3 s" in caplog.text


@BOTH
def test_a_scheduler_killed_and_started_again_adopts_the_try_running_on_a_worker(
    migrated_db_url: str,
    make_settings: Callable[..., Settings],
    brokers: Brokers,
    broker: str,
    tmp_path: Path,
) -> None:
    iso = isolate(brokers, broker)
    dags = tmp_path / "dags"
    dags.mkdir()
    sections = system_sections(
        core={"dags_folder": str(dags), "executor": "celery", "parallelism": 8},
        # A short job_timeout lets the new scheduler see quickly that the old one is gone.
        scheduler={"run_dag_processor": True, "job_timeout": 1.0, "heartbeat_interval": 0.2},
        celery=celery_sections(iso),
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    journal, gate, log = tmp_path / "journal", tmp_path / "gate", tmp_path / "scheduler.log"
    with (
        running_system(settings, dags, start=False) as system,
        celery_workers(settings, WorkerSpec("w1")) as workers,
    ):
        system.add_dag("adopted", _long("adopted", journal, retries=2, seconds=0, gate=gate))
        run_id = system.trigger("adopted")
        with scheduler_process(settings, log) as first:
            running = lambda: system.state("adopted", run_id, "long") == TaskState.RUNNING  # noqa: E731
            assert _wait(running, timeout=60), log.read_text()
            first.send_signal(signal.SIGKILL)
            first.wait()
        with scheduler_process(settings, log):
            time.sleep(2.0)  # the new scheduler has taken over the dead one's tries
            gate.touch()
            assert _wait(lambda: system.run_state("adopted", run_id) == "success", 60), (
                log.read_text()
            )
        ti = system.instance("adopted", run_id, "long")
    assert ti.try_number == 1, f"{log.read_text()}\n{workers[0].tail()}"
    assert _starts(journal, "long") == [1]
    assert [h.try_number for h in system.history("adopted", run_id, "long")] in ([], [1])
