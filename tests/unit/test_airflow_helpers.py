"""Small Airflow helpers DAG files use: LoggingMixin, is_venv_installed, apply_defaults,
get_parsing_context, DagRunType's Airflow 2 name, SmoothOperator."""

from __future__ import annotations

import logging

import pytest

from tradewind.operators.legacy import apply_defaults
from tradewind.operators.smooth import SmoothOperator
from tradewind.operators.venvs import is_venv_installed
from tradewind.parsing.context import get_parsing_context
from tradewind.states import DagRunType
from tradewind.tasklogs import LoggingMixin


class Fetcher(LoggingMixin):
    pass


def test_logging_mixin_logs_under_the_module_and_class_name() -> None:
    assert Fetcher().log is logging.getLogger(f"{__name__}.Fetcher")
    assert Fetcher.logger() is Fetcher().log


def test_venvs_can_be_made_with_the_standard_library() -> None:
    assert is_venv_installed() is True


def test_apply_defaults_warns_and_changes_nothing() -> None:
    def init(self: object) -> None:
        return None

    with pytest.warns(DeprecationWarning, match="apply_defaults"):
        assert apply_defaults(init) is init


def test_the_parsing_context_asks_for_every_dag() -> None:
    context = get_parsing_context()
    assert (context.dag_id, context.task_id) == (None, None)


def test_backfill_job_is_airflow_2s_name_of_a_backfill_run() -> None:
    assert DagRunType.BACKFILL_JOB is DagRunType.BACKFILL
    assert DagRunType.BACKFILL_JOB == "backfill"


def test_smooth_operator_logs_its_link_and_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert SmoothOperator(task_id="smooth").execute({}) is None
    assert "Smooth Operator" in caplog.text
