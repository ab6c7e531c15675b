"""The fork server rehearses a built-in no-op try before it forks any: the rehearsal goes
through and leaves nothing of the user's touched (logs, metastore, this process's output)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from tradewind.executors.base import Channel
from tradewind.runtime import rehearsal, runner
from tradewind.settings import Settings
from tradewind.workloads import Workload


def test_the_rehearsal_succeeds_and_writes_no_log_and_opens_no_metastore(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    metastore = tmp_path / "never-opened.db"
    settings = make_settings(home, f"sqlite:///{metastore}", traces={"otel_on": True})
    stdout, stderr = sys.stdout, sys.stderr
    fds = [os.fstat(1).st_ino, os.fstat(2).st_ino]

    assert rehearsal.rehearse(settings, runner.run_workload)

    assert not settings.logging.base_log_folder.exists()
    assert not metastore.exists()
    assert list(home.iterdir()) == []
    assert (sys.stdout, sys.stderr) == (stdout, stderr)
    assert [os.fstat(1).st_ino, os.fstat(2).st_ino] == fds


def test_the_rehearsal_runs_with_traces_off_and_its_own_log_folder(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, traces={"otel_on": True})
    given: list[Settings] = []

    def run(workload: Workload, channel: Channel, used: Settings) -> None:
        given.append(used)
        runner.run_workload(workload, channel, used)

    assert rehearsal.rehearse(settings, run, times=2)

    assert len(given) == 2
    # A try's tracer provider is set once per process: the fork server must not set one.
    assert not any(used.traces.otel_on for used in given)
    assert all(used.logging.base_log_folder != settings.logging.base_log_folder for used in given)
    assert all(used.database == settings.database for used in given)


def test_a_failing_rehearsal_is_logged_and_changes_nothing(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)

    def broken(*args: object) -> None:
        raise RuntimeError("no runner today")

    assert not rehearsal.rehearse(settings, broken)
    assert not settings.logging.base_log_folder.exists()
