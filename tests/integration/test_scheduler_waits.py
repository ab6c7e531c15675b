"""Tasks and runs that wait, through the real scheduler and local executor: depends_on_past,
sensors in poke and reschedule mode, and a paused DAG's triggered run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scheduling import (  # noqa: F401
    ACTIVE_TASK,
    System,
    make_system_fixture,
    sqlite_only,
    system_fixture,
)
from sqlalchemy import select

from tradewind.metastore.models import TaskReschedule
from tradewind.states import DagRunState, TaskState

PAST_DAG = """
def step(ti=None, dag_run=None):
    tag = dag_run.conf.get("tag", "")
    if ti.task_id in dag_run.conf.get("fail", []):
        raise RuntimeError("told to fail")
    work({journal!r}, gate=os.path.join({gates!r}, f"{{ti.task_id}}-{{tag}}"), ti=ti)

with DAG("past", schedule=None):
    first = PythonOperator(task_id="first", python_callable=step, depends_on_past=True)
    second = PythonOperator(task_id="second", python_callable=step)
    first >> second
"""


def _add_past_dag(system: System, tmp_path: Path) -> Path:
    gates = tmp_path / "gates"
    gates.mkdir()
    system.add_dag("past", PAST_DAG.format(journal=str(tmp_path / "journal"), gates=str(gates)))
    return gates


def _day(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def test_depends_on_past_waits_for_the_same_task_of_the_previous_run(
    system: System, tmp_path: Path
) -> None:
    gates = _add_past_dag(system, tmp_path)
    r1 = system.trigger("past", {"tag": "r1"}, logical_date=_day(1))
    r2 = system.trigger("past", {"tag": "r2"}, logical_date=_day(2))
    assert system.run_until(lambda: system.state("past", r1, "first") is TaskState.RUNNING)
    system.settle(0.5)
    # Nothing else holds run 2 back (max_active_runs is 16): only depends_on_past.
    assert system.run_state("past", r2) == DagRunState.RUNNING.value
    assert system.state("past", r2, "first") is TaskState.NONE
    (gates / "first-r1").touch()
    # Run 2's first task starts once run 1's succeeded, while run 1 itself still runs.
    assert system.run_until(lambda: system.state("past", r2, "first") is TaskState.RUNNING)
    assert system.state("past", r1, "second") in ACTIVE_TASK
    for name in ("second-r1", "first-r2", "second-r2"):
        (gates / name).touch()
    assert system.wait("past", r1) == "success"
    assert system.wait("past", r2) == "success"
    before, after = system.instance("past", r1, "first"), system.instance("past", r2, "first")
    assert before.end_date is not None
    assert after.start_date is not None
    assert after.start_date >= before.end_date


@sqlite_only  # the same queries as above; this is about what the decision does with a failure
def test_depends_on_past_holds_the_task_after_a_failed_previous_try(
    system: System, tmp_path: Path
) -> None:
    gates = _add_past_dag(system, tmp_path)
    (gates / "first-r2").touch()
    r1 = system.trigger("past", {"tag": "r1", "fail": ["first"]}, logical_date=_day(1))
    r2 = system.trigger("past", {"tag": "r2"}, logical_date=_day(2))
    assert system.wait("past", r1) == "failed"
    system.settle(1.0)
    assert system.run_state("past", r2) == DagRunState.RUNNING.value
    assert system.states("past", r2) == {"first": TaskState.NONE, "second": TaskState.NONE}


SENSOR_DAG = """
def arrived():
    found = os.path.exists({flag!r})
    note({journal!r}, found, os.getpid())
    return found

with DAG("sensing", schedule=None):
    PythonSensor(task_id="wait", python_callable=arrived, mode={mode!r}, poke_interval=0.1,
                 timeout=60)
"""


def _pokes(journal: Path) -> list[tuple[str, int]]:
    """(whether the flag was there, the pid of the poking process) for each poke."""
    lines = journal.read_text().splitlines() if journal.exists() else []
    return [(found, int(pid)) for found, pid in (line.split() for line in lines)]


@sqlite_only  # one long try: nothing of it depends on the database
def test_a_poking_sensor_succeeds_once_the_file_appears(system: System, tmp_path: Path) -> None:
    flag, journal = tmp_path / "flag", tmp_path / "journal"
    system.add_dag("sensing", SENSOR_DAG.format(flag=str(flag), journal=str(journal), mode="poke"))
    run_id = system.trigger("sensing")
    assert system.run_until(lambda: len(_pokes(journal)) >= 2)
    assert system.state("sensing", run_id, "wait") is TaskState.RUNNING
    flag.touch()
    assert system.wait("sensing", run_id) == "success"
    pokes = _pokes(journal)
    assert pokes[0][0] == "False"
    assert pokes[-1][0] == "True"
    # One try poked all along in one process.
    assert len({pid for _, pid in pokes}) == 1
    assert system.instance("sensing", run_id, "wait").try_number == 1


def test_a_rescheduling_sensor_gives_its_slot_back_and_keeps_its_try(
    system: System, tmp_path: Path
) -> None:
    flag, journal = tmp_path / "flag", tmp_path / "journal"
    system.add_dag(
        "sensing", SENSOR_DAG.format(flag=str(flag), journal=str(journal), mode="reschedule")
    )
    run_id = system.trigger("sensing")
    assert system.run_until(lambda: len(_reschedules(system, run_id)) >= 2)
    flag.touch()
    assert system.wait("sensing", run_id) == "success"
    reschedules = _reschedules(system, run_id)
    assert {r.try_number for r in reschedules} == {1}
    ti = system.instance("sensing", run_id, "wait")
    assert ti.try_number == 1
    # The history has the one try, finished once.
    assert [(h.try_number, h.state) for h in system.history("sensing", run_id, "wait")] == [
        (1, "success")
    ]
    # Each poke was a process of its own, which gave its slot back until the next one.
    pokes = _pokes(journal)
    assert len(pokes) == len(reschedules) + 1
    assert len({pid for _, pid in pokes}) == len(pokes)


THIRD_POKE_DAG = """
def third_time(journal={journal!r}):
    note(journal, "poke", os.getpid())
    return len(Path(journal).read_text().splitlines()) >= 3

with DAG("sensing", schedule=None):
    PythonSensor(task_id="wait", python_callable=third_time, mode="reschedule", poke_interval=0,
                 timeout=60)
"""


@sqlite_only  # about the executor and the scheduler, not the database
def test_a_rescheduling_sensor_due_at_once_runs_its_next_poke(
    system: System, tmp_path: Path
) -> None:
    # Each poke is due the moment the last one reported, often before its process is reaped:
    # the next poke (same try) must still run, once that process is gone.
    journal = tmp_path / "journal"
    system.add_dag("sensing", THIRD_POKE_DAG.format(journal=str(journal)))
    run_id = system.trigger("sensing")
    assert system.wait("sensing", run_id) == "success"
    assert len(_reschedules(system, run_id)) == 2
    pokes = _pokes(journal)
    assert len(pokes) == 3
    assert len({pid for _, pid in pokes}) == 3
    assert system.instance("sensing", run_id, "wait").try_number == 1


def _reschedules(system: System, run_id: str) -> list[TaskReschedule]:
    with system.sessions() as session:
        return list(
            session.scalars(
                select(TaskReschedule)
                .where(TaskReschedule.dag_id == "sensing", TaskReschedule.run_id == run_id)
                .order_by(TaskReschedule.id)
            ).all()
        )


def test_a_paused_dags_run_stays_queued_until_unpaused(system: System) -> None:
    system.add_dag(
        "sleepy",
        """
        with DAG("sleepy", schedule=None):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    run_id = system.trigger("sleepy", unpause=False)
    system.settle(1.0)
    assert system.run_state("sleepy", run_id) == DagRunState.QUEUED.value
    assert system.states("sleepy", run_id) == {}
    system.set_paused("sleepy", False)
    assert system.wait("sleepy", run_id) == "success"
    assert set(system.states("sleepy", run_id).values()) == {TaskState.SUCCESS}
