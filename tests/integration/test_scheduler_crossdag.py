"""Work across DAGs and setup/teardown tasks, through the real scheduler and local executor:
TriggerDagRunOperator (waiting for the run it made), ExternalTaskSensor, teardowns after a
failed work task, and ExternalTaskMarker clearing."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduling import System, make_system_fixture, system_fixture  # noqa: F401

from tradewind.states import DagRunState, TaskState

TRIGGER_DAGS = """
from tradewind.operators.trigger_dagrun import TriggerDagRunOperator

def compute(dag_run=None):
    if dag_run.conf.get("fail"):
        raise RuntimeError("told to fail")
    return dag_run.conf["n"] * 2

with DAG("target", schedule=None):
    PythonOperator(task_id="compute", python_callable=compute)

with DAG("controller", schedule=None):
    TriggerDagRunOperator(
        task_id="start_target",
        trigger_dag_id="target",
        trigger_run_id="{{ dag_run.conf['run'] }}",
        conf={"n": 21, "fail": "{{ dag_run.conf.get('fail', '') }}"},
        wait_for_completion=True,
        poke_interval=0.1,
    )
"""


def _day(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def test_trigger_dag_run_waits_for_the_run_it_made(system: System) -> None:
    system.add_dag("trigger", TRIGGER_DAGS)
    system.set_paused("target", False)
    run = system.trigger("controller", {"run": "from-controller"})
    assert system.wait("controller", run) == DagRunState.SUCCESS.value
    made = system.run("target", "from-controller")
    assert made.state == DagRunState.SUCCESS.value
    assert made.run_type == "manual"
    assert made.conf == {"n": 21, "fail": ""}
    assert system.xcom("target", "from-controller", "compute") == 42


def test_trigger_dag_run_fails_when_the_run_fails(system: System) -> None:
    system.add_dag("trigger", TRIGGER_DAGS)
    system.set_paused("target", False)
    run = system.trigger("controller", {"run": "doomed", "fail": "yes"})
    assert system.wait("controller", run) == DagRunState.FAILED.value
    assert system.run_state("target", "doomed") == DagRunState.FAILED.value
    assert system.state("controller", run, "start_target") is TaskState.FAILED


SENSOR_DAGS = """
from tradewind.sensors.external_task import ExternalTaskSensor

def produce(dag_run=None):
    if dag_run.conf.get("fail"):
        raise RuntimeError("told to fail")

with DAG("producer", schedule=None):
    PythonOperator(task_id="make", python_callable=produce)

with DAG("consumer", schedule=None):
    ExternalTaskSensor(
        task_id="wait_for_make",
        external_dag_id="producer",
        external_task_id="make",
        execution_delta=timedelta(days=1),
        failed_states=["failed", "upstream_failed"],
        check_existence=True,
        poke_interval=0.1,
        timeout=60,
    ) >> EmptyOperator(task_id="use")
"""


def test_external_task_sensor_waits_for_the_task_a_day_earlier(system: System) -> None:
    system.add_dag("sensing", SENSOR_DAGS)
    consumer = system.trigger("consumer", logical_date=_day(2))
    assert system.run_until(
        lambda: system.state("consumer", consumer, "wait_for_make") is TaskState.RUNNING
    )
    # A producer run on the same day is not the one the sensor looks at.
    same_day = system.trigger("producer", logical_date=_day(2))
    assert system.wait("producer", same_day) == DagRunState.SUCCESS.value
    assert system.state("consumer", consumer, "wait_for_make") is TaskState.RUNNING
    producer = system.trigger("producer", logical_date=_day(1))
    assert system.wait("producer", producer) == DagRunState.SUCCESS.value
    assert system.wait("consumer", consumer) == DagRunState.SUCCESS.value
    assert system.state("consumer", consumer, "use") is TaskState.SUCCESS


def test_external_task_sensor_fails_on_a_failed_state(system: System) -> None:
    system.add_dag("sensing", SENSOR_DAGS)
    producer = system.trigger("producer", {"fail": True}, logical_date=_day(1))
    assert system.wait("producer", producer) == DagRunState.FAILED.value
    consumer = system.trigger("consumer", logical_date=_day(2))
    assert system.wait("consumer", consumer) == DagRunState.FAILED.value
    assert system.state("consumer", consumer, "wait_for_make") is TaskState.FAILED
    assert system.state("consumer", consumer, "use") is TaskState.UPSTREAM_FAILED


SETUP_DAG = """
from tradewind.operators.setup_teardown import setup, teardown

@setup
def create_cluster():
    return "cluster-1"

@task
def run_query(cluster):
    raise RuntimeError("the query failed on " + cluster)

@teardown
def delete_cluster(cluster):
    note({journal!r}, "deleted", cluster)

with DAG("cluster", schedule=None):
    cluster = create_cluster()
    run_query(cluster) >> delete_cluster(cluster)
"""


def test_teardown_runs_after_the_work_failed_and_the_run_fails(
    system: System, tmp_path: object
) -> None:
    journal = f"{tmp_path}/journal"
    system.add_dag("cluster", SETUP_DAG.format(journal=journal))
    run = system.trigger("cluster")
    assert system.wait("cluster", run) == DagRunState.FAILED.value
    assert system.states("cluster", run) == {
        "create_cluster": TaskState.SUCCESS,
        "run_query": TaskState.FAILED,
        "delete_cluster": TaskState.SUCCESS,
    }
    with open(journal) as handle:
        assert "deleted cluster-1" in handle.read()


MARKER_DAGS = """
from tradewind.sensors.external_task import ExternalTaskMarker

with DAG("parent", schedule=None):
    EmptyOperator(task_id="prepare") >> ExternalTaskMarker(
        task_id="mark_child", external_dag_id="child", external_task_id="start"
    )

with DAG("child", schedule=None):
    EmptyOperator(task_id="before") >> EmptyOperator(task_id="start") >> EmptyOperator(
        task_id="finish"
    )
"""


def test_clearing_a_marker_clears_the_external_task_and_its_downstream(system: System) -> None:
    from tradewind.scheduler.operations import Scope, clear_instances

    system.add_dag("markers", MARKER_DAGS)
    parent = system.trigger("parent", logical_date=_day(3))
    child = system.trigger("child", logical_date=_day(3))
    other_day = system.trigger("child", logical_date=_day(4))
    for dag_id, run in (("parent", parent), ("child", child), ("child", other_day)):
        assert system.wait(dag_id, run) == DagRunState.SUCCESS.value
    with system.sessions.begin() as session:
        cleared = clear_instances(
            session,
            "parent",
            parent,
            ["prepare"],
            scope=Scope(downstream=True),
            now=datetime.now(UTC),
        )
    assert sorted((ti.dag_id, ti.run_id, ti.task_id) for ti in cleared) == [
        ("child", child, "finish"),
        ("child", child, "start"),
        ("parent", parent, "mark_child"),
        ("parent", parent, "prepare"),
    ]
    assert system.wait("child", child) == DagRunState.SUCCESS.value
    assert system.instance("child", child, "start").try_number == 2
    assert system.instance("child", child, "before").try_number == 1
    assert system.instance("child", other_day, "start").try_number == 1
