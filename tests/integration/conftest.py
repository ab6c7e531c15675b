"""Integration tests: real processes and real database servers (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tradewind.cli import cli
from tradewind.settings import Settings

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def tradewind_cli() -> Callable[..., Result]:
    """Run ``tradewind <args>`` in-process with the given Settings (the environment is not read)."""

    def run(settings: Settings, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), obj=settings, input=input)

    return run
