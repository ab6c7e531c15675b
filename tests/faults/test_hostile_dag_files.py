"""Hostile DAG files in a real DAGs folder, parsed by the real DAG processor of a running
scheduler: each one is at worst its own import error. The other DAGs register and run, the
processor keeps its pid, and nothing a file started is left running.

Each hostile file notes the pid of every process that runs it in ``pids/`` (copies made by a
fork included), so that the test can tell that none of them is left.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dagprocs import (  # noqa: F401
    Site,
    make_site_fixture,
    pid_alive,
    wait_gone,
    wait_until,
)
from scheduling import tradewind_process

NOTE_PID = """
import os
import signal
import sys
import time


def note_pid(name):
    open(os.path.join({pids!r}, f"{{name}}-{{os.getpid()}}"), "w").close()
"""

# name -> (body, what its import error says; None: it registers its DAG ``name``).
HOSTILE: dict[str, tuple[str, str | None]] = {
    # Six forks at import: 64 processes would each send the file's result (and, in the local
    # executor, each run the task).
    "forks": (
        """
        for _ in range(6):
            os.fork()
        note_pid("forks")
        simple_dag("forks")
        """,
        None,
    ),
    # A copy that leaves the process group and keeps the result pipe open.
    "fork_holds_the_pipe": (
        """
        note_pid("fork_holds_the_pipe")
        if os.fork() == 0:
            os.setsid()
            note_pid("fork_holds_the_pipe")
            time.sleep(600)
        raise RuntimeError("the copy holds the pipe")
        """,
        "RuntimeError: the copy holds the pipe",
    ),
    "kills_its_group": (
        """
        note_pid("kills_its_group")
        os.killpg(os.getpgid(0), signal.SIGKILL)
        """,
        "killed by SIGKILL",
    ),
    "kills_its_parent": (
        """
        note_pid("kills_its_parent")
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(1)
        """,
        "killed by SIGKILL",
    ),
    "kills_its_parents_group": (
        """
        note_pid("kills_its_parents_group")
        os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
        """,
        "killed by SIGKILL",
    ),
    "exits": (
        """
        note_pid("exits")
        sys.exit(3)
        """,
        "sys.exit(3)",
    ),
    "os_exits": (
        """
        note_pid("os_exits")
        os._exit(0)
        """,
        "exited with code 0",
    ),
    "loops": (
        """
        note_pid("loops")
        while True:
            pass
        """,
        "longer than",
    ),
    "eats_memory": (
        """
        note_pid("eats_memory")
        hog = []
        while True:
            hog.append(bytes(200 * 2**20))
        """,
        "MemoryError (a DAG file may use 512 MB: dag_processor.parsing_memory_limit_mb)",
    ),
    "closes_its_descriptors": (
        """
        note_pid("closes_its_descriptors")
        os.closerange(0, 4096)
        """,
        "exited with code 70",
    ),
    "replaces_its_descriptors": (
        """
        note_pid("replaces_its_descriptors")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in range(64):
            if fd != null:
                try:
                    os.dup2(null, fd)
                except OSError:
                    pass
        """,
        "exited with code 70",
    ),
    "garbage_in_the_pipes": (
        """
        note_pid("garbage_in_the_pipes")
        for fd in range(3, 64):
            try:
                os.write(fd, b'{"fileloc": "elsewhere"}\\nnot json\\n')
            except OSError:
                pass
        """,
        "broken result",
    ),
    "garbage_on_stdout": (
        """
        note_pid("garbage_on_stdout")
        os.write(1, b"\\x00\\xff{not json\\n" * 1000)
        os.write(2, b"\\x00\\xff{not json\\n" * 1000)
        print("garbage", "\\x00" * 100)
        simple_dag("garbage_on_stdout")
        """,
        None,
    ),
    "loud": (
        """
        note_pid("loud")
        os.write(1, b"y" * 20_000_000)
        sys.stdout.write("x" * 20_000_000)
        for i in range(100_000):
            print("line", i)
        raise RuntimeError("said too much")
        """,
        "RuntimeError: said too much",
    ),
    "steals_a_dag_id": (
        """
        note_pid("steals_a_dag_id")
        simple_dag("victim")
        """,
        "dag_id 'victim' is already defined in",
    ),
}


def _body(name: str, pids: Path) -> str:
    body, _ = HOSTILE[name]
    lines = body.strip("\n").splitlines()
    indent = len(lines[0]) - len(lines[0].lstrip())
    return NOTE_PID.format(pids=str(pids)) + "\n".join(line[indent:] for line in lines) + "\n"


def _noted(pids: Path) -> list[int]:
    return [int(path.name.rsplit("-", 1)[1]) for path in pids.iterdir()]


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_hostile_files_are_their_own_import_errors_and_harm_nothing_else(
    make_site: Callable[..., Site], migrated_db_url: str, tmp_path: Path
) -> None:
    site = make_site(
        migrated_db_url,
        dag_processor={"file_parse_timeout": 10.0, "parsing_memory_limit_mb": 512},
    )
    pids = tmp_path / "pids"
    pids.mkdir()
    site.write_dag("victim", 'simple_dag("victim")\n')
    site.write_dag("bystander", 'simple_dag("bystander")\n')
    log = tmp_path / "scheduler.log"
    with tradewind_process(site.settings, "scheduler", log=log):
        wait_until(lambda: {"victim", "bystander"} <= site.registered(), "the good DAGs")
        processor = wait_until(site.processor_pid, "the DAG processor's heartbeat")

        for name in HOSTILE:
            site.write_dag(name, _body(name, pids))
        failing = {f"{name}.py" for name, (_, error) in HOSTILE.items() if error}
        wait_until(lambda: set(site.import_errors()) == failing, "an error for each bad file")
        errors = site.import_errors()
        for name, (_, expected) in HOSTILE.items():
            if expected is not None:
                text = errors[f"{name}.py"]
                assert expected in text, (name, text)
                assert str(site.dags / f"{name}.py") in text, (name, text)
                # No other file is named in it.
                others = [other for other in HOSTILE if other != name and f"/{other}.py" in text]
                assert others == [], (name, text)
        registering = {name for name, (_, error) in HOSTILE.items() if error is None}
        assert site.registered() == {"victim", "bystander", *registering}
        # Nothing any file started while it was parsed is left.
        assert wait_gone(_noted(pids)) == []
        assert site.processor_pid() == processor

        runs = {dag_id: site.trigger(dag_id) for dag_id in {"victim", "bystander", *registering}}
        for dag_id, run_id in runs.items():
            wait_until(
                lambda d=dag_id, r=run_id: site.run_state(d, r) in ("success", "failed"),  # type: ignore[misc]
                f"the run of {dag_id}",
            )
        assert site.processor_pid() == processor
        assert [job.pid for job in site.processor_jobs()] == [processor]
    site.assert_all_done()
    assert "starting it again" not in log.read_text(errors="replace")
    assert wait_gone(_noted(pids)) == []


@pytest.mark.parametrize("db_dialect", ["sqlite"])
@pytest.mark.parametrize("warm_dag_files", [0, 8], ids=["cold", "warm"])
def test_a_file_that_forks_at_import_runs_each_try_once(
    make_site: Callable[..., Site], migrated_db_url: str, tmp_path: Path, warm_dag_files: int
) -> None:
    # The try imports the file itself (cold), or a warm process of the fork server does.
    site = make_site(migrated_db_url, core={"warm_dag_files": warm_dag_files})
    pids = tmp_path / "pids"
    pids.mkdir()
    site.write_dag("forks", _body("forks", pids))
    site.write_dag("bystander", 'simple_dag("bystander")\n')
    log = tmp_path / "scheduler.log"
    with tradewind_process(site.settings, "scheduler", log=log):
        wait_until(lambda: {"forks", "bystander"} <= site.registered(), "both DAGs")
        # Twice: the fork server (and the warm process) still serve after the first run.
        for _ in range(2):
            runs = {dag_id: site.trigger(dag_id) for dag_id in ("forks", "bystander")}
            for dag_id, run_id in runs.items():
                wait_until(
                    lambda d=dag_id, r=run_id: site.run_state(d, r) in ("success", "failed"),  # type: ignore[misc]
                    f"the run of {dag_id}",
                )
        assert site.import_errors() == {}
        site.assert_all_done()
        # Of the processes that imported the file only the warm process is left (if any).
        noted = _noted(pids)
        wait_until(
            lambda: len([pid for pid in noted if pid_alive(pid)]) <= (1 if warm_dag_files else 0),
            "the copies the file forked to end",
            timeout=15,
        )
    assert wait_gone(_noted(pids)) == []
