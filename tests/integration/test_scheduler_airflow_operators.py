"""Airflow's LatestOnly, day-of-week branch, BashSensor and virtualenv tasks through the real
scheduler, local executor and task runner."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401

from tradewind.metastore.store import runs as run_store
from tradewind.states import TaskState

pytestmark = sqlite_only


def test_latest_only_skips_downstream_in_older_scheduled_runs(system: System) -> None:
    system.add_dag(
        "latest",
        """
        from tradewind.operators import LatestOnlyOperator
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        with DAG(
            "latest",
            schedule="@daily",
            start_date=today - timedelta(days=3),
            catchup=True,
            is_paused_upon_creation=False,
        ):
            LatestOnlyOperator(task_id="latest_only") >> EmptyOperator(task_id="work")
        """,
    )

    def finished() -> list[str]:
        with system.sessions() as session:
            runs = run_store.list_runs(session, "latest")
        return sorted(r.run_id for r in runs if r.state in ("success", "failed"))

    assert system.run_until(lambda: len(finished()) >= 3, timeout=60)
    run_ids = finished()
    outcomes = [system.state("latest", run_id, "work") for run_id in run_ids]
    # Sorted by logical date: only the latest interval's run does the work.
    assert outcomes == [TaskState.SKIPPED, TaskState.SKIPPED, TaskState.SUCCESS]
    assert {system.state("latest", r, "latest_only") for r in run_ids} == {TaskState.SUCCESS}
    manual = system.trigger("latest")
    assert system.wait("latest", manual) == "success"
    assert system.state("latest", manual, "work") == TaskState.SUCCESS


def test_day_of_week_branch_follows_the_logical_dates_day(system: System) -> None:
    system.add_dag(
        "weekday",
        """
        from tradewind.operators import BranchDayOfWeekOperator
        from tradewind.timetables.weekday import WeekDay
        with DAG("weekday", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
            branch = BranchDayOfWeekOperator(
                task_id="branch",
                week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
                use_task_logical_date=True,
                follow_task_ids_if_true="weekend",
                follow_task_ids_if_false="workday",
            )
            join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
            branch >> [EmptyOperator(task_id="weekend"), EmptyOperator(task_id="workday")] >> join
        """,
    )
    saturday = system.trigger("weekday", logical_date=datetime(2024, 1, 6, 12, tzinfo=UTC))
    monday = system.trigger("weekday", logical_date=datetime(2024, 1, 8, 12, tzinfo=UTC))
    assert system.wait("weekday", saturday) == "success"
    assert system.wait("weekday", monday) == "success"
    assert system.states("weekday", saturday) == {
        "branch": TaskState.SUCCESS,
        "weekend": TaskState.SUCCESS,
        "workday": TaskState.SKIPPED,
        "join": TaskState.SUCCESS,
    }
    assert system.state("weekday", monday, "weekend") == TaskState.SKIPPED
    assert system.state("weekday", monday, "workday") == TaskState.SUCCESS


def test_bash_sensor_pokes_until_exit_zero_and_fails_on_other_codes(
    system: System, tmp_path: Path
) -> None:
    count = tmp_path / "count"
    system.add_dag(
        "bash_sensor",
        f"""
        from tradewind.sensors import BashSensor
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        with DAG("bash_sensor", schedule=None, start_date=start):
            BashSensor(
                task_id="third_time",
                bash_command="echo x >> {count}; test $(wc -l < {count}) -ge 3",
                poke_interval=0.1,
            )
            BashSensor(
                task_id="broken",
                bash_command="exit 4",
                retry_exit_code=3,
                retries=2,
                poke_interval=0,
            )
        """,
    )
    run_id = system.trigger("bash_sensor")
    assert system.wait("bash_sensor", run_id) == "failed"
    assert system.state("bash_sensor", run_id, "third_time") == TaskState.SUCCESS
    assert len(count.read_text().splitlines()) == 3
    assert system.state("bash_sensor", run_id, "broken") == TaskState.FAILED
    assert len(system.history("bash_sensor", run_id, "broken")) == 1


def test_virtualenv_task_runs_in_a_cached_venv_and_pushes_its_value(system: System) -> None:
    system.add_dag(
        "venv",
        """
        import sys
        with DAG("venv", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):

            @task.virtualenv(requirements=[], system_site_packages=False)
            def inside(n, ds=None):
                import sys
                return {"n": n * 2, "ds": ds, "prefix": sys.prefix, "base": sys.base_prefix}

            @task.external_python(python=sys.executable)
            def outside(found):
                return found["n"] + 1

            outside(inside(21))
        """,
    )
    run_id = system.trigger("venv", logical_date=datetime(2024, 1, 2, tzinfo=UTC))
    assert system.wait("venv", run_id) == "success"
    inside = system.xcom("venv", run_id, "inside")
    assert inside["n"] == 42
    assert inside["ds"] == "2024-01-02"
    assert inside["prefix"] != inside["base"]
    assert Path(inside["prefix"]).parent == system.settings.core.venv_cache_folder
    assert system.xcom("venv", run_id, "outside") == 43
