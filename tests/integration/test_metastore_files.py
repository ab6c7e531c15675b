"""The SQLite metastore's files (the database, its -wal and -shm) are readable by their owner
only, as the toml and the password file are: after ``tradewind db init`` and while a real
scheduler runs a DAG, under the usual umask of 022."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tradewind.settings import Settings

DAG = """
from datetime import datetime
from tradewind import DAG
from tradewind.operators import EmptyOperator

with DAG("files", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tradewind(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tradewind", *args],
        env={**os.environ, **settings.to_env()},
        capture_output=True,
        text=True,
        umask=0o022,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_the_sqlite_files_are_the_owners_only(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    home = tmp_path / "home"
    dags = home / "dags"
    dags.mkdir(parents=True)
    (dags / "files.py").write_text(DAG)
    settings = make_settings(
        home,
        core={"dags_folder": str(dags), "load_examples": False},
        scheduler={"heartbeat_interval": 0.2},
    )
    database = home / "tradewind.db"
    tradewind(settings, "db", "init")
    assert mode(database) == 0o600
    tradewind(settings, "dags", "reserialize")
    tradewind(settings, "dags", "unpause", "files")
    run_id = tradewind(settings, "dags", "trigger", "files").strip().splitlines()[-1]
    log = (tmp_path / "scheduler.log").open("wb")
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "scheduler"],
        env={**os.environ, **settings.to_env()},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        umask=0o022,
    )
    try:
        wait_for(lambda: Path(f"{database}-shm").exists(), "the scheduler to open the metastore")
        wait_for(
            lambda: "success" in tradewind(settings, "dags", "state", "files", run_id),
            "the run to succeed",
        )
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=60)
        log.close()
    assert mode(database) == 0o600
