"""Tries start from warm processes that imported their DAG file once: changes still count, and
a warm process that dies or cannot import loses no try."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    sqlite_only,
    system_fixture,
)

from tradewind.executors.local import LocalExecutor
from tradewind.states import TaskState


def _lines(journal: Path) -> list[list[str]]:
    return [line.split() for line in journal.read_text().splitlines()] if journal.exists() else []


@sqlite_only
def test_tries_see_each_change_of_the_dag_file_and_of_the_helper_modules_it_imports(
    system: System, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    helper = system.dags / "shared_values.py"
    helper.write_text("WORD = 'first'\n")
    body = """
        import shared_values

        VERSION = "{version}"

        def report(ti=None):
            note({journal!r}, ti.task_id, VERSION, shared_values.WORD, os.getppid())

        with DAG("warm", schedule=None):
            PythonOperator(task_id="a", python_callable=report) >> PythonOperator(
                task_id="b", python_callable=report
            )
        """
    system.add_dag("warm", body.format(version="v1", journal=str(journal)))

    first = system.trigger("warm")
    assert system.wait("warm", first) == "success"
    rows = _lines(journal)
    assert [r[:3] for r in rows] == [["a", "v1", "first"], ["b", "v1", "first"]]
    # Both tries were forked by the same warm process of the file, not by the fork server.
    assert rows[0][3] == rows[1][3]
    assert int(rows[0][3]) != _fork_server_pid(system)

    # A longer file: a new size, so the change shows even within the same mtime tick.
    system.add_dag("warm", body.format(version="v2-longer", journal=str(journal)))
    second = system.trigger("warm")
    assert system.wait("warm", second) == "success"
    assert [r[:3] for r in _lines(journal)[2:]] == [
        ["a", "v2-longer", "first"],
        ["b", "v2-longer", "first"],
    ]

    # Only the helper module changes: the DAG file is the same, its import is stale all the same.
    helper.write_text("WORD = 'second one'\n")
    third = system.trigger("warm")
    assert system.wait("warm", third) == "success"
    assert [r[2:4] for r in _lines(journal)[4:]] == [["second", "one"], ["second", "one"]]


@sqlite_only
def test_a_warm_process_killed_under_a_running_try_fails_it_and_the_retry_runs(
    system: System, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    gate = tmp_path / "gate"
    system.add_dag(
        "orphaned",
        f"""
        def held(ti=None):
            note({str(journal)!r}, ti.try_number, os.getpid(), os.getppid())
            if ti.try_number == 1:
                wait_for({str(gate)!r})
            return ti.try_number

        with DAG("orphaned", schedule=None):
            PythonOperator(task_id="held", python_callable=held, retries=1,
                           retry_delay=timedelta(seconds=0))
        """,
    )
    run_id = system.trigger("orphaned")
    assert system.run_until(lambda: len(_lines(journal)) == 1)
    _, try_pid, warm_pid = (int(x) for x in _lines(journal)[0])
    assert warm_pid != _fork_server_pid(system)
    os.kill(warm_pid, signal.SIGKILL)

    assert system.wait("orphaned", run_id) == "success"
    history = system.history("orphaned", run_id, "held")
    assert [(h.try_number, h.state) for h in history] == [(1, "up_for_retry"), (2, "success")]
    assert system.xcom("orphaned", run_id, "held") == 2
    # The first try died with its warm process; the second came from a new one.
    deadline = time.monotonic() + 10
    while _alive(try_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(try_pid)
    assert int(_lines(journal)[1][2]) != warm_pid


@sqlite_only
def test_a_dag_file_whose_import_kills_the_process_fails_its_try_without_hanging(
    system: System, tmp_path: Path
) -> None:
    marker = tmp_path / "crash-on-import"
    system.add_dag(
        "crashy",
        f"""
        if os.path.exists({str(marker)!r}):
            os._exit(3)

        with DAG("crashy", schedule=None):
            PythonOperator(task_id="work", python_callable=lambda: None)
        """,
    )
    # Parsed fine; from now on, importing it ends the importing process.
    marker.write_text("")
    run_id = system.trigger("crashy")
    assert system.wait("crashy", run_id) == "failed"
    assert system.state("crashy", run_id, "work") is TaskState.FAILED


@sqlite_only
def test_with_the_pool_full_only_a_file_slow_to_import_pushes_another_out(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    system = make_system(core={"warm_dag_files": 1})
    # Each try outlasts the moment for which a warm process just used keeps its place, so
    # that only what is known of the files decides.
    report = f"""
        def report(ti=None):
            note({str(journal)!r}, ti.dag_id, os.getppid(), os.getpid())
            time.sleep(1.2)
        """
    system.add_dag(
        "quick",
        report
        + """
        with DAG("quick", schedule=None):
            PythonOperator(task_id="quick", python_callable=report)
        """,
    )
    system.add_dag(
        "slow",
        report
        + """
        began = time.process_time()
        while time.process_time() - began < 0.06:  # an import that takes 60 ms of CPU
            pass

        with DAG("slow", schedule=None):
            PythonOperator(task_id="a", python_callable=report)
        """,
    )
    server = _fork_server_pid(system)

    def run(dag_id: str) -> tuple[int, int]:
        assert system.wait(dag_id, system.trigger(dag_id)) == "success"
        _, parent, pid = _lines(journal)[-1]
        return int(parent), int(pid)

    # The pool had room: the quick file got a warm process.
    quick_parent, _ = run("quick")
    assert quick_parent != server
    # Full, and nothing known of the slow file yet: its try ran the cold way...
    slow_parent, slow_pid = run("slow")
    assert slow_parent == server
    # ... and the fork server learns what it cost once it has reaped it.
    assert system.run_until(lambda: not Path(f"/proc/{slow_pid}").exists())
    # Enough to push the quick file's warm process out.
    slow_parent, _ = run("slow")
    assert slow_parent not in (server, quick_parent)
    # The quick file imports fast: it takes no place from the slow one, its try runs cold.
    quick_parent, _ = run("quick")
    assert quick_parent == server


def _fork_server_pid(system: System) -> int | None:
    executor = system.scheduler.executor
    assert isinstance(executor, LocalExecutor)
    return executor.server_pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it runs nothing.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"
