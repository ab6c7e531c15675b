"""Airflow's task, DAG and task group arguments beyond tradewind's own: honoured, renamed,
ignored with one warning at the DAG file's line, or refused with an error naming them."""

from __future__ import annotations

import warnings
from datetime import datetime

import jinja2
import pytest

from tradewind import DAG, TaskGroup, dag, task
from tradewind.authoring.airflow_args import IgnoredArgumentWarning
from tradewind.authoring.templating import template_environment
from tradewind.exceptions import DagDefinitionError
from tradewind.operators import EmptyOperator
from tradewind.parsing.serialize import deserialize_dag, serialize_dag


def test_task_limits_and_past_flags_are_kept_and_serialized() -> None:
    with DAG("limits") as limited:
        EmptyOperator(
            task_id="t",
            max_active_tis_per_dag=2,
            max_active_tis_per_dagrun=1,
            ignore_first_depends_on_past=False,
            wait_for_past_depends_before_skipping=True,
            depends_on_past=True,
        )
        EmptyOperator(task_id="plain")
    task_ = limited.get_task("t")
    assert (task_.max_active_tis_per_dag, task_.max_active_tis_per_dagrun) == (2, 1)
    shown = deserialize_dag(serialize_dag(limited))
    assert shown.tasks["t"].max_active_tis_per_dag == 2
    assert shown.tasks["t"].max_active_tis_per_dagrun == 1
    assert shown.tasks["t"].ignore_first_depends_on_past is False
    assert shown.tasks["t"].wait_for_past_depends_before_skipping is True
    plain = shown.tasks["plain"]
    assert plain.max_active_tis_per_dag is None
    assert plain.ignore_first_depends_on_past is True
    # Defaults stay out of the JSON, so DAGs stored before keep their hash.
    raw = next(t for t in serialize_dag(limited)["tasks"] if t["task_id"] == "plain")
    assert "max_active_tis_per_dag" not in raw
    assert "ignore_first_depends_on_past" not in raw


def test_task_concurrency_is_the_old_name_and_default_args_reach_limits() -> None:
    with (
        DAG("old", default_args={"max_active_tis_per_dagrun": 3}),
        pytest.warns(DeprecationWarning, match="task_concurrency is deprecated"),
    ):
        old = EmptyOperator(task_id="old", task_concurrency=4)
    assert old.max_active_tis_per_dag == 4
    assert old.max_active_tis_per_dagrun == 3


def test_a_bad_limit_names_the_argument() -> None:
    with DAG("bad"), pytest.raises(DagDefinitionError, match="max_active_tis_per_dag must be"):
        EmptyOperator(task_id="t", max_active_tis_per_dag=0)


def test_operator_default_args_go_over_the_dags() -> None:
    with DAG("defaults", default_args={"retries": 1, "owner": "dag"}):
        mine = EmptyOperator(task_id="t", default_args={"retries": 4})
    assert (mine.retries, mine.owner) == (4, "dag")


def test_docs_are_kept_on_the_task() -> None:
    with DAG("docs") as documented:
        EmptyOperator(
            task_id="t", doc="plain", doc_md="*md*", doc_rst="rst", doc_json="{}", doc_yaml="a: 1"
        )
    kept = documented.get_task("t")
    assert (kept.doc, kept.doc_md, kept.doc_rst, kept.doc_json, kept.doc_yaml) == (
        "plain",
        "*md*",
        "rst",
        "{}",
        "a: 1",
    )


def test_ignored_task_arguments_warn_once_at_the_dag_files_line() -> None:
    with DAG("ignored"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(3):
            made = EmptyOperator(task_id=f"t{i}", run_as_user="etl")
    ignored = [w for w in caught if issubclass(w.category, IgnoredArgumentWarning)]
    assert sorted(str(w.message).split(": ")[1] for w in ignored) == [
        "run_as_user is ignored (tasks run as the user of the worker that runs them)",
    ]
    assert {w.filename for w in ignored} == {__file__}
    # Kept as given, for code that reads them.
    assert made.run_as_user == "etl"


def test_pre_execute_is_refused_with_the_reason() -> None:
    with DAG("pre"), pytest.raises(DagDefinitionError, match="pre_execute is not supported"):
        EmptyOperator(task_id="t", pre_execute=lambda context: None)


def test_unknown_task_arguments_are_still_refused() -> None:
    with DAG("typo"), pytest.raises(DagDefinitionError, match="unknown argument 'retires'"):
        EmptyOperator(task_id="t", retires=3)


def test_taskflow_tasks_take_the_airflow_arguments() -> None:
    @task(max_active_tis_per_dag=1, task_display_name="Load it", doc_md="loads")
    def load() -> None:
        pass

    with DAG("flow") as flow:
        load()
    loaded = flow.get_task("load")
    assert loaded.max_active_tis_per_dag == 1
    assert loaded.task_display_name == "Load it"


def test_dag_arguments_ignored_with_a_warning_and_kept() -> None:
    links = {"ops": "https://example.com"}
    with pytest.warns(IgnoredArgumentWarning) as caught:
        kept = DAG(
            "kept",
            owner_links=links,
            access_control={"viewer": {"can_read"}},
            max_consecutive_failed_dag_runs=3,
        )
    assert {str(w.message).split(": ")[1].split(" ")[0] for w in caught} == {
        "owner_links",
        "access_control",
        "max_consecutive_failed_dag_runs",
    }
    assert kept.owner_links == links


def test_sla_miss_callback_warns_as_removed_and_auto_register_true_is_quiet() -> None:
    with pytest.warns(DeprecationWarning, match="sla_miss_callback is ignored"):
        DAG("sla", sla_miss_callback=print)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DAG("registered", auto_register=True)


@pytest.mark.parametrize("name", ["fail_stop", "fail_fast"])
def test_fail_fast_is_refused(name: str) -> None:
    with pytest.raises(DagDefinitionError, match=f"{name} is not supported: tradewind does not"):
        DAG("fast", **{name: True})


def test_timetable_is_the_old_name_of_schedule() -> None:
    with pytest.warns(DeprecationWarning, match="timetable"):
        old = DAG("old", timetable="@daily", start_date=datetime(2024, 1, 1))
    assert old.timetable.summary == "@daily"


def test_jinja_environment_kwargs_and_template_undefined_apply() -> None:
    loose = DAG(
        "loose",
        template_undefined=jinja2.Undefined,
        jinja_environment_kwargs={"trim_blocks": True},
    )
    env = template_environment(loose)
    assert env.from_string("[{{ missing }}]").render() == "[]"
    assert env.trim_blocks is True
    with pytest.raises(jinja2.UndefinedError):
        template_environment(DAG("strict")).from_string("{{ missing }}").render()


def test_dag_decorator_passes_airflow_arguments() -> None:
    @dag(dag_display_name="Nightly load", owner_links={"a": "b"})
    def nightly() -> None:
        EmptyOperator(task_id="t")

    with pytest.warns(IgnoredArgumentWarning, match="owner_links"):
        built = nightly()
    assert built.dag_display_name == "Nightly load"


def test_task_group_arguments() -> None:
    with DAG("groups") as grouped:
        with TaskGroup(
            "outer", tooltip="tip", ui_color="#abc", ui_fgcolor="#123", default_args={"retries": 2}
        ) as outer:
            inner = TaskGroup("inner", parent_group=outer, prefix_group_id=False)
            EmptyOperator(task_id="t", task_group=inner)
        TaskGroup("outer", add_suffix_on_collision=True, group_display_name="Outer again")
    # Inside a group without prefix, the task id has no prefix (as in Airflow).
    assert grouped.get_task("t").retries == 2
    assert grouped.task_group_dict["outer__1"].group_display_name == "Outer again"
    assert (outer.tooltip, outer.ui_color, outer.ui_fgcolor) == ("tip", "#abc", "#123")
