"""Operators' execute() with a plain context dict, as the task runner will call it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, TaskGroup, task
from tradewind.authoring import templating
from tradewind.exceptions import DagDefinitionError, SkipDownstream, SkipTask, TaskError
from tradewind.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)


class FakeTI:
    try_number = 2

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return f"{task_ids}:{key}"


def make_context(**extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ti": FakeTI(),
        "ds": "2024-01-02",
        "logical_date": datetime(2024, 1, 2, tzinfo=UTC),
        "run_id": "manual__2024-01-02",
        "params": {"who": "world"},
    }
    context.update(extra)
    return context


def run(task_: Any, context: dict[str, Any]) -> Any:
    templating.render_template_fields(task_, context)
    return task_.execute(context)


def test_empty_operator_does_nothing() -> None:
    with DAG("d"):
        empty = EmptyOperator(task_id="e")
    assert empty.execute(make_context()) is None


def test_python_operator_passes_op_args_op_kwargs_and_named_context() -> None:
    seen: dict[str, Any] = {}

    def work(a: int, b: int, *, scale: int, ds: str, ti: Any) -> int:
        seen.update(ds=ds, ti=ti)
        return (a + b) * scale

    with DAG("d"):
        op = PythonOperator(
            task_id="p", python_callable=work, op_args=[1, 2], op_kwargs={"scale": 10}
        )
    context = make_context()
    assert run(op, context) == 30
    assert seen == {"ds": "2024-01-02", "ti": context["ti"]}


def test_python_operator_gives_the_whole_context_to_kwargs_and_renders_templates() -> None:
    def work(greeting: str, **context: Any) -> str:
        return f"{greeting} {context['templates_dict']['day']} {context['run_id']}"

    with DAG("d"):
        op = PythonOperator(
            task_id="p",
            python_callable=work,
            op_kwargs={"greeting": "hello {{ params.who }}"},
            templates_dict={"day": "{{ ds_nodash }}"},
        )
    assert run(op, make_context(ds_nodash="20240102")) == "hello world 20240102 manual__2024-01-02"


def test_python_operator_rejects_a_non_callable() -> None:
    with DAG("d"), pytest.raises(DagDefinitionError, match="python_callable must be callable"):
        PythonOperator(task_id="p", python_callable="print")  # type: ignore[arg-type]


def test_python_operator_exceptions_propagate() -> None:
    def fail() -> None:
        raise SkipTask("nothing to do")

    with DAG("d"):
        op = PythonOperator(task_id="p", python_callable=fail)
    with pytest.raises(SkipTask, match="nothing to do"):
        op.execute(make_context())


def test_bash_operator_returns_the_last_line_and_renders_templates() -> None:
    with DAG("d"):
        op = BashOperator(task_id="b", bash_command="echo first; echo 'day {{ ds }}'")
    assert run(op, make_context()) == "day 2024-01-02"


def test_bash_operator_skip_and_failure_exit_codes() -> None:
    with DAG("d"):
        skip = BashOperator(task_id="skip", bash_command="exit 99")
        custom = BashOperator(task_id="custom", bash_command="exit 3", skip_on_exit_code=[3, 4])
        fail = BashOperator(task_id="fail", bash_command="echo oops >&2; exit 1")
    with pytest.raises(SkipTask):
        skip.execute(make_context())
    with pytest.raises(SkipTask):
        custom.execute(make_context())
    with pytest.raises(TaskError, match="exit code 1"):
        fail.execute(make_context())


def test_bash_operator_env_cwd_and_context_variables(tmp_path: Path) -> None:
    command = 'echo "$GREETING $TRADEWIND_CTX_TASK_ID $TRADEWIND_CTX_TRY_NUMBER $(pwd)"'
    with DAG("d"):
        replaced = BashOperator(
            task_id="replaced", bash_command=command, env={"GREETING": "hi"}, cwd=str(tmp_path)
        )
        appended = BashOperator(
            task_id="appended",
            bash_command='echo "$GREETING ${PATH:+has-path}"',
            env={"GREETING": "hey"},
            append_env=True,
        )
        isolated = BashOperator(
            task_id="isolated", bash_command='echo "[${HOME:-}]"', env={"GREETING": "x"}
        )
    assert replaced.execute(make_context()) == f"hi replaced 2 {tmp_path}"
    assert appended.execute(make_context()) == "hey has-path"
    assert isolated.execute(make_context()) == "[]"


def test_bash_operator_missing_cwd_and_empty_command_fail_clearly(tmp_path: Path) -> None:
    with DAG("d"):
        nowhere = BashOperator(task_id="n", bash_command="true", cwd=str(tmp_path / "missing"))
        empty = BashOperator(task_id="e", bash_command="  ")
    with pytest.raises(TaskError, match="is not a directory"):
        nowhere.execute(make_context())
    with pytest.raises(TaskError, match="bash_command is empty"):
        empty.execute(make_context())


def test_bash_operator_reads_a_template_file(tmp_path: Path) -> None:
    (tmp_path / "script.sh").write_text("echo from file {{ params.who }}\n")
    with DAG("d", template_searchpath=str(tmp_path)):
        op = BashOperator(task_id="b", bash_command="script.sh")
    assert run(op, make_context()) == "from file world"


def test_task_bash_runs_the_returned_command() -> None:
    @task.bash
    def greet(name: str) -> str:
        return f"echo hello {name}"

    with DAG("d") as dag:
        greet("tradewind")
    assert dag.get_task("greet").execute(make_context()) == "hello tradewind"


def branching_dag(choice: Any) -> tuple[DAG, BranchPythonOperator]:
    with DAG("branchy") as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: choice)
        left = EmptyOperator(task_id="left")
        right = EmptyOperator(task_id="right")
        with TaskGroup("grp") as group:
            EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
        branch >> [left, right, group]
        left >> EmptyOperator(task_id="after_left")
    return dag, branch


def test_branch_skips_the_direct_downstream_tasks_not_chosen() -> None:
    _, branch = branching_dag("left")
    with pytest.raises(SkipDownstream) as info:
        branch.execute(make_context())
    assert info.value.task_ids == {"right", "grp.first"}
    assert info.value.xcom_value == "left"


def test_branch_may_choose_several_tasks_or_a_group() -> None:
    _, branch = branching_dag(["right", "grp"])
    with pytest.raises(SkipDownstream) as info:
        branch.execute(make_context())
    assert info.value.task_ids == {"left"}


def test_branch_choosing_everything_skips_nothing() -> None:
    _, branch = branching_dag(["left", "right", "grp.first"])
    assert branch.execute(make_context()) == ["left", "right", "grp.first"]


def test_branch_to_a_task_that_is_not_downstream_fails() -> None:
    _, branch = branching_dag("after_left")
    with pytest.raises(TaskError, match="not one of its direct downstream tasks"):
        branch.execute(make_context())


def short_circuit_dag(result: Any, ignore: bool) -> ShortCircuitOperator:
    with DAG("sc"):
        check = ShortCircuitOperator(
            task_id="check",
            python_callable=lambda: result,
            ignore_downstream_trigger_rules=ignore,
        )
        check >> EmptyOperator(task_id="next") >> EmptyOperator(task_id="last")
    return check


def test_short_circuit_truthy_result_lets_everything_run() -> None:
    assert short_circuit_dag("yes", ignore=True).execute(make_context()) == "yes"


def test_short_circuit_falsy_result_skips_all_downstream_by_default() -> None:
    with pytest.raises(SkipDownstream) as info:
        short_circuit_dag(0, ignore=True).execute(make_context())
    assert info.value.task_ids == {"next", "last"}


def test_short_circuit_can_leave_further_tasks_to_their_trigger_rules() -> None:
    check = short_circuit_dag(False, ignore=False)
    assert check.ignore_downstream_trigger_rules is False
    with pytest.raises(SkipDownstream) as info:
        check.execute(make_context())
    assert info.value.task_ids == {"next"}


def test_output_processor_turns_the_last_line_into_the_xcom() -> None:
    import json

    with DAG("d") as dag:
        op = BashOperator(
            task_id="b",
            bash_command="echo noise; echo '{\"rows\": 3}'",
            output_processor=json.loads,
        )

        @task.bash(output_processor=lambda line: line.upper())
        def shout() -> str:
            return "echo quiet"

        shout()
    assert op.execute(make_context()) == {"rows": 3}
    assert dag.get_task("shout").execute(make_context()) == "QUIET"
