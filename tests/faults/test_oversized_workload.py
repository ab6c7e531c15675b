"""Fault: a run whose conf is 20 MB, beside runs whose tries are running.

A workload larger than the fork server's socket takes once made the local executor take the
fork server for dead and fail every try it ran (in the scheduler, and in each celery worker's
embedded executor). Here a real ``tradewind scheduler`` process runs a DAG of busy tries; while
they run, a run with a 20 MB conf is created (through the store: the API may refuse such a
request, and a metastore may hold such a run all the same), its try reads the whole conf, and
the busy tries go on undisturbed. On the local executor (SQLite) and on the celery executor
(Redis, PostgreSQL, one real worker). Every run completes, no try runs twice, nothing is left
queued or running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celerytest import (
    Brokers,
    WorkerSpec,
    celery_sections,
    celery_workers,
    isolate,
)
from scheduling import (
    FINISHED_RUN,
    System,
    poll,
    read_journal,
    running_system,
    scheduler_process,
    system_sections,
)

from tradewind.metastore.store import runs as run_store
from tradewind.states import DagRunState, DagRunType, TaskState

BIG_CONF = 20 << 20
BUSY = 3
RUN_LIMIT = 180.0

BUSY_DAG = """
with DAG("busy", schedule=None):
    for i in range({count}):
        PythonOperator(task_id=f"b{{i}}", python_callable=work,
                       op_kwargs={{"journal": {journal!r}, "gate": {gate!r}}})
"""

BIG_DAG = """
import hashlib

def measure(journal, ti=None, dag_run=None):
    note(journal, ti.task_id, os.getpid(), ti.try_number, "start", time.time())
    blob = dag_run.conf["blob"]
    note(journal, ti.task_id, os.getpid(), ti.try_number, "end", time.time())
    return {{"size": len(blob), "sha256": hashlib.sha256(blob.encode()).hexdigest()}}

with DAG("big", schedule=None):
    PythonOperator(task_id="measure", python_callable=measure, op_args=[{journal!r}]) >> (
        PythonOperator(task_id="after", python_callable=work, op_args=[{journal!r}])
    )
"""


@pytest.fixture(params=["local", "celery-redis"])
def system(
    request: pytest.FixtureRequest,
    databases: Any,
    tmp_path: Path,
    make_settings: Callable[..., Any],
) -> Iterator[System]:
    """Settings and metastore for the executor under test (no scheduler running yet)."""
    dags = tmp_path / "dags"
    dags.mkdir()
    with ExitStack() as stack:
        sections: dict[str, dict[str, Any]] = {"core": {"dags_folder": str(dags)}}
        db_url = None
        if request.param == "celery-redis":
            brokers: Brokers = request.getfixturevalue("brokers")
            iso = isolate(brokers, "redis")
            db_url, drop = databases.migrated("postgres", tmp_path)
            stack.callback(drop)
            sections["core"]["executor"] = "celery"
            sections["celery"] = celery_sections(iso)
        else:
            db_url, _ = databases.migrated("sqlite", tmp_path)
        settings = make_settings(tmp_path, db_url, **system_sections(**sections))
        found = stack.enter_context(running_system(settings, dags, start=False))
        if request.param == "celery-redis":
            stack.enter_context(celery_workers(settings, WorkerSpec("w1")))
        yield found


def _big_run(system: System, conf: dict[str, Any]) -> str:
    """A run of ``big`` with ``conf``, made through the store."""
    now = datetime.now(UTC)
    with system.sessions.begin() as session:
        run = run_store.create_dag_run(
            session,
            dag_id="big",
            run_id="manual__oversized",
            logical_date=now,
            data_interval=(now, now),
            run_type=DagRunType.MANUAL,
            conf=conf,
            now=now,
            external_trigger=True,
        )
        return run.run_id


def test_a_run_with_a_20_mb_conf_completes_and_the_tries_beside_it_run_on(
    system: System, tmp_path: Path
) -> None:
    journal, gate, log = tmp_path / "journal", tmp_path / "gate", tmp_path / "scheduler.log"
    system.add_dag("busy", BUSY_DAG.format(count=BUSY, journal=str(journal), gate=str(gate)))
    system.add_dag("big", BIG_DAG.format(journal=str(journal)))
    system.set_paused("big", False)
    blob = "x" * BIG_CONF

    def finished(dag_id: str, run_id: str) -> Callable[[], bool]:
        return lambda: system.run_state(dag_id, run_id) in FINISHED_RUN

    with scheduler_process(system.settings, log) as scheduler:
        busy_run = system.trigger("busy")
        busy_ids = [f"b{i}" for i in range(BUSY)]
        all_busy = lambda: {e.task_id for e in read_journal(journal)} >= set(busy_ids)  # noqa: E731
        assert poll(all_busy, RUN_LIMIT), log.read_text()[-3000:]
        big_run = _big_run(system, {"blob": blob})
        assert poll(finished("big", big_run), RUN_LIMIT), log.read_text()[-3000:]
        busy_while = system.states("busy", busy_run)
        gate.touch()
        assert poll(finished("busy", busy_run), RUN_LIMIT), log.read_text()[-3000:]
        scheduler_alive = scheduler.poll() is None

    assert scheduler_alive
    assert system.run_state("big", big_run) == DagRunState.SUCCESS.value
    assert system.run_state("busy", busy_run) == DagRunState.SUCCESS.value
    assert system.xcom("big", big_run, "measure") == {
        "size": BIG_CONF,
        "sha256": hashlib.sha256(blob.encode()).hexdigest(),
    }
    # The busy tries ran on while the big one was handed over, ran and ended.
    assert set(busy_while.values()) == {TaskState.RUNNING}
    # No try ran twice; nothing is left queued or running.
    starts = sorted((e.task_id, e.try_number) for e in read_journal(journal))
    assert starts == sorted([(t, 1) for t in [*busy_ids, "measure", "after"]])
    for dag_id, run_id in (("busy", busy_run), ("big", big_run)):
        assert {ti.try_number for ti in system.instances(dag_id, run_id)} == {1}
        assert set(system.states(dag_id, run_id).values()) == {TaskState.SUCCESS}
