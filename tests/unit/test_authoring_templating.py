"""Rendering template fields: macros, filters, native objects, undefined names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
import pytest

from tradewind import DAG, dag, task
from tradewind.authoring import templating
from tradewind.operators import BashOperator, PythonOperator


def test_user_macros_and_date_filters() -> None:
    with DAG("d", user_defined_macros={"project": "demo"}) as dag_:
        op = BashOperator(task_id="b", bash_command="echo {{ project }} {{ when | ds_nodash }}")
    context = {"when": datetime(2024, 5, 6, tzinfo=UTC)}
    templating.render_template_fields(op, context, templating.template_environment(dag_))
    assert op.bash_command == "echo demo 20240506"


def test_native_rendering_keeps_python_types() -> None:
    with DAG("d", render_template_as_native_obj=True):
        op = PythonOperator(
            task_id="p", python_callable=lambda n: n, op_args=["{{ params.n * 2 }}"]
        )
    templating.render_template_fields(op, {"params": {"n": 21}})
    assert op.op_args == [42]


def test_undefined_names_fail_instead_of_rendering_empty() -> None:
    with DAG("d"):
        op = BashOperator(task_id="b", bash_command="echo {{ typo }}")
    with pytest.raises(jinja2.UndefinedError, match="typo"):
        templating.render_template_fields(op, {})


def test_dag_function_parameters_resolve_to_run_params() -> None:
    @task
    def show(value: Any) -> Any:
        return value

    @dag
    def parametrized(limit: int = 10) -> None:
        show(limit)

    built = parametrized()
    op = built.get_task("show")
    context = {"params": built.resolve_params({"limit": 3})}
    templating.render_template_fields(op, context)
    assert op.execute(context) == 3
