"""Where the web server reads a try's log: each executor offers its log source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tradewind import tasklogs
from tradewind.api.routes import logs as log_routes
from tradewind.executors import load_executor
from tradewind.executors.base import ExecutorError
from tradewind.executors.served_logs import WorkerLogSource
from tradewind.settings import Settings
from tradewind.workloads import TaskKey

KEY = TaskKey("etl", "manual__2026-01-01T00:00:00+00:00", "load", -1, 1)


def _no_host() -> str | None:
    raise AssertionError("the host of a try whose log is here is not looked up")


def _write_log(settings: Settings, text: str) -> None:
    path = tasklogs.log_path(settings.logging.base_log_folder, KEY)
    path.parent.mkdir(parents=True)
    path.write_text(text)


@pytest.mark.parametrize("name", ["sequential", "local"])
def test_executors_whose_tries_run_here_read_the_log_file(
    name: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    _write_log(settings, "hello\n")

    source = load_executor(name).log_source(settings)

    assert type(source) is tasklogs.LogSource
    chunk = source.read(KEY, 0, finished=True, host=_no_host)
    assert chunk == tasklogs.LogChunk("hello\n", 6, True)


def test_the_celery_executor_reads_a_log_that_is_not_here_from_its_worker(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    pytest.importorskip("celery")
    settings = make_settings(tmp_path, celery={"worker_log_server_port": 1})

    source = load_executor("celery").log_source(settings)

    assert isinstance(source, WorkerLogSource)
    assert source.port == 1
    # The worker is asked only for a try that has started somewhere.
    assert source.read(KEY, 0, finished=False, host=lambda: None).at_end


def test_without_the_executors_extra_only_the_logs_here_are_read(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, core={"executor": "kubernetes"})

    def missing(name: str) -> type:
        raise ExecutorError(f"executor {name!r} needs the kubernetes extra")

    monkeypatch.setattr(log_routes, "load_executor", missing)
    source = log_routes._log_source(settings)

    with pytest.raises(tasklogs.LogUnavailable, match="needs the kubernetes extra"):
        source.read(KEY, 0, finished=False, host=_no_host)
    _write_log(settings, "kept\n")
    assert source.read(KEY, 0, finished=True, host=_no_host).content == "kept\n"
