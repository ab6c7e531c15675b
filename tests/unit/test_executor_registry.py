"""Choosing an executor by name: lazy imports, clear errors, install hints."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tradewind import executors
from tradewind.executors.base import ExecutorError
from tradewind.executors.local import LocalExecutor
from tradewind.executors.processes.runners import DEFAULT_RUNNER
from tradewind.executors.sequential import SequentialExecutor
from tradewind.settings import EXECUTOR_NAMES, Settings
from tradewind.testing import SCRIPTED_RUNNER


@pytest.mark.parametrize(
    ("name", "cls"), [("sequential", SequentialExecutor), ("local", LocalExecutor)]
)
def test_known_executors_load_by_name(name: str, cls: type) -> None:
    assert executors.load_executor(name) is cls


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ExecutorError) as caught:
        executors.load_executor("threads")

    assert str(caught.value) == (
        "unknown executor 'threads'; known: sequential, local, celery, kubernetes"
    )


def test_an_executor_that_is_not_written_yet_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(executors.EXECUTORS, "nowhere", "tradewind.executors.nowhere:Nowhere")

    with pytest.raises(ExecutorError, match="executor 'nowhere' is not available yet"):
        executors.load_executor("nowhere")


def test_a_missing_extra_gives_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> ModuleType:
        if name == "tradewind.executors.celery":
            raise ModuleNotFoundError("No module named 'kombu'", name="kombu")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)

    with pytest.raises(ExecutorError) as caught:
        executors.load_executor("celery")

    assert "pip install 'tradewind[celery]'" in str(caught.value)


def test_create_executor_builds_the_configured_one_without_starting_it(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, core={"executor": "sequential"})

    executor = executors.create_executor(settings)

    assert isinstance(executor, SequentialExecutor)
    assert executor.runner == DEFAULT_RUNNER
    with pytest.raises(ExecutorError, match="not started"):
        executor.poll()


def test_importing_the_package_imports_no_executor_module() -> None:
    code = (
        "import sys, tradewind.executors; "
        "print(sorted(m for m in sys.modules if m.startswith('tradewind.executors.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "['tradewind.executors.base']"


def test_the_registry_knows_exactly_the_names_the_setting_accepts() -> None:
    assert tuple(executors.EXECUTORS) == EXECUTOR_NAMES
    assert EXECUTOR_NAMES == ("sequential", "local", "celery", "kubernetes")


@pytest.mark.parametrize(
    ("cls", "options"),
    [
        (SequentialExecutor, {"runner": SCRIPTED_RUNNER, "grace_period": 0.5}),
        (LocalExecutor, {"runner": SCRIPTED_RUNNER, "grace_period": 0.5}),
    ],
)
def test_a_process_executor_is_built_from_settings_with_its_own_options(
    make_settings: Callable[..., Settings], tmp_path: Path, cls: type, options: dict[str, Any]
) -> None:
    executor = cls.from_settings(make_settings(tmp_path), **options)

    assert isinstance(executor, cls)
    assert (executor.runner, executor.grace_period) == (SCRIPTED_RUNNER, 0.5)
