"""BaseOperator arguments: trigger rules, weight rules, checks and their error messages."""

from __future__ import annotations

import runpy
import textwrap
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, TriggerRule
from tradewind.exceptions import DagDefinitionError
from tradewind.models import BaseOperator
from tradewind.operators import EmptyOperator

ALL_RULES = [
    "all_success",
    "all_failed",
    "all_done",
    "all_done_min_one_success",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
    "all_done_setup_success",
]


def error_in_file(tmp_path: Path, body: str) -> DagDefinitionError:
    """Run a DAG file whose line 4 is ``body`` and return the error it raises."""
    path = tmp_path / "bad_dag.py"
    source = f"""
        from tradewind import DAG
        from tradewind.operators import EmptyOperator
        with DAG("d"):
            {body}
        """
    path.write_text(textwrap.dedent(source).lstrip())
    with pytest.raises(DagDefinitionError) as info:
        runpy.run_path(str(path))
    assert (info.value.fileloc, info.value.lineno) == (str(path), 4)
    assert str(info.value).startswith(f"{path}:4: ")
    return info.value


def test_every_airflow_trigger_rule_is_accepted() -> None:
    assert [rule.value for rule in TriggerRule] == ALL_RULES
    with DAG("d"):
        for rule in ALL_RULES:
            task = EmptyOperator(task_id=rule, trigger_rule=rule)
            assert task.trigger_rule is TriggerRule(rule)


def test_old_trigger_rule_names_are_aliases() -> None:
    with DAG("d"):
        old = EmptyOperator(task_id="old", trigger_rule="none_failed_or_skipped")
        dummy = EmptyOperator(task_id="dummy", trigger_rule="dummy")
    assert old.trigger_rule is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert dummy.trigger_rule is TriggerRule.ALWAYS


def test_unknown_trigger_rule_lists_the_valid_ones(tmp_path: Path) -> None:
    error = error_in_file(tmp_path, 'EmptyOperator(task_id="t", trigger_rule="all_succes")')
    assert "unknown trigger rule 'all_succes'" in str(error)
    assert "none_failed_min_one_success" in str(error)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('EmptyOperator(task_id="t", retries=-1)', "retries must be at least 0"),
        ('EmptyOperator(task_id="t", retries="3")', "retries must be an integer"),
        ('EmptyOperator(task_id="t", pool_slots=0)', "pool_slots must be at least 1"),
        ('EmptyOperator(task_id="t", priority_weight=1.5)', "priority_weight must be an integer"),
        ('EmptyOperator(task_id="t", priority_weight=2**40)', "out of range"),
        ('EmptyOperator(task_id="t", weight_rule="sideways")', "unknown weight rule"),
        ('EmptyOperator(task_id="t", pool="")', "pool must be a non-empty string"),
        ('EmptyOperator(task_id="t", retry_delay="5m")', "retry_delay must be a timedelta"),
        ('EmptyOperator(task_id="t", on_failure_callback=3)', "must be a callable"),
        ('EmptyOperator(task_id="bad id")', "task_id 'bad id' may only contain"),
        (
            'EmptyOperator(task_id="t", retires=3)',
            "EmptyOperator(task_id='t') got unknown argument 'retires'",
        ),
    ],
)
def test_bad_operator_arguments_name_file_line_and_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    assert message in str(error_in_file(tmp_path, body))


def test_duplicate_task_id_names_both_locations(tmp_path: Path) -> None:
    path = tmp_path / "dup.py"
    path.write_text(
        textwrap.dedent(
            """
            from tradewind import DAG
            from tradewind.operators import EmptyOperator
            with DAG("d"):
                EmptyOperator(task_id="load")
                EmptyOperator(task_id="load")
            """
        ).lstrip()
    )
    with pytest.raises(DagDefinitionError) as info:
        runpy.run_path(str(path))
    assert str(info.value) == (
        f"{path}:5: task id 'load' is already used in DAG 'd' by the task defined at {path}:4"
    )


def test_retry_settings_and_seconds_are_accepted() -> None:
    with DAG("d"):
        task = EmptyOperator(
            task_id="t",
            retries=None,
            retry_delay=30,
            max_retry_delay=timedelta(minutes=10),
            retry_exponential_backoff=True,
            execution_timeout=60,
        )
    assert task.retries == 0
    assert task.retry_delay == timedelta(seconds=30)
    assert task.execution_timeout == timedelta(seconds=60)


def test_wait_for_downstream_implies_depends_on_past() -> None:
    with DAG("d"):
        task = EmptyOperator(task_id="t", wait_for_downstream=True)
    assert task.depends_on_past


def test_weight_rules_compute_priority_weight_totals() -> None:
    with DAG("d"):
        a = EmptyOperator(task_id="a", priority_weight=1)
        b = EmptyOperator(task_id="b", priority_weight=2)
        c = EmptyOperator(task_id="c", priority_weight=4)
        d = EmptyOperator(task_id="d", priority_weight=8)
        a >> [b, c] >> d
        up = EmptyOperator(task_id="up", priority_weight=16, weight_rule="upstream")
        d >> up
        absolute = EmptyOperator(task_id="abs", priority_weight=32, weight_rule="absolute")
        a >> absolute
    # downstream: own weight plus every task below it, each counted once
    assert a.priority_weight_total == 1 + 2 + 4 + 8 + 16 + 32
    assert b.priority_weight_total == 2 + 8 + 16
    assert d.priority_weight_total == 8 + 16
    assert up.priority_weight_total == 16 + 8 + 2 + 4 + 1
    assert absolute.priority_weight_total == 32


class CopyOperator(BaseOperator):
    """A custom operator as users write them."""

    template_fields = ("source", "target")

    def __init__(self, *, source: str, target: str = "/tmp/out", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.target = target

    def execute(self, context: Mapping[str, Any]) -> str:
        return f"{self.source} -> {self.target}"


def test_custom_operators_get_default_args_for_their_own_arguments() -> None:
    with DAG("d", default_args={"target": "/data", "retries": 2}):
        copy = CopyOperator(task_id="copy", source="/in")
    assert copy.target == "/data"
    assert copy.retries == 2
    assert copy.execute({}) == "/in -> /data"


def test_template_field_that_is_not_an_attribute_is_an_error() -> None:
    class Broken(BaseOperator):
        template_fields = ("missing",)

    with DAG("d"), pytest.raises(DagDefinitionError, match="template field 'missing'"):
        Broken(task_id="b")


def test_base_operator_execute_must_be_overridden() -> None:
    with DAG("d"):
        plain = BaseOperator(task_id="plain")
    with pytest.raises(NotImplementedError, match="must implement execute"):
        plain.execute({})
