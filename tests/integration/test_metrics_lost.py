"""Metrics of tries that end outside their own process and of a dead scheduler's tries, from a
real scheduler to a StatsD UDP listener the test runs: scheduler.tasks.killed_externally,
operator_successes / operator_failures (and their legacy names), and
scheduler.orphaned_tasks.cleared / .adopted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from metric_receivers import StatsdListener, statsd_listener_fixture  # noqa: F401
from scheduling import (  # noqa: F401
    System,
    die_silently,
    make_system_fixture,
    sqlite_only,
    start_scheduler,
)
from test_scheduler_adoption import Holding

from tradewind.states import DagRunState, TaskState
from tradewind.workloads import TaskKey

pytestmark = [sqlite_only]


def _metrics(statsd: StatsdListener) -> dict[str, dict[str, object]]:
    return {"metrics": {"statsd_on": True, "statsd_host": "127.0.0.1", "statsd_port": statsd.port}}


KILLED = """
def die():
    os.kill(os.getpid(), 9)


with DAG("killed", schedule=None, start_date=datetime(2024, 1, 1)):
    ok = PythonOperator(task_id="ok", python_callable=lambda: None)
    gone = PythonOperator(task_id="gone", python_callable=die)
    ok >> gone
"""


def test_a_killed_try_counts_as_killed_externally_and_as_an_operator_failure(
    statsd_listener: StatsdListener, make_system: Callable[..., System]
) -> None:
    system = make_system(**_metrics(statsd_listener))
    system.add_dag("killed", KILLED)
    run_id = system.trigger("killed")
    assert system.wait("killed", run_id) == DagRunState.FAILED.value
    killed = "airflow.scheduler.tasks.killed_externally:1|c"
    assert statsd_listener.wait_for(lambda lines: killed in lines)
    lines = statsd_listener.drain()
    assert lines.count(killed) == 1
    assert lines.count("airflow.operator_failures_PythonOperator:1|c") == 1
    assert lines.count("airflow.operator_failures:1|c") == 1
    assert lines.count("airflow.operator_successes_PythonOperator:1|c") == 1
    assert lines.count("airflow.operator_successes:1|c") == 1
    # Its process died, its worker did not go silent.
    assert not any("zombies_killed" in line or "without_heartbeats" in line for line in lines)


def test_a_try_that_reports_its_own_failure_is_not_killed_externally(
    statsd_listener: StatsdListener, make_system: Callable[..., System]
) -> None:
    system = make_system(**_metrics(statsd_listener))
    system.add_dag(
        "raises",
        """
def boom():
    raise ValueError("no")


with DAG("raises", schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="bash", bash_command="exit 3")
    PythonOperator(task_id="py", python_callable=boom)
""",
    )
    run_id = system.trigger("raises")
    assert system.wait("raises", run_id) == DagRunState.FAILED.value
    assert system.scheduler.observer.flush()
    lines = statsd_listener.drain()
    assert "airflow.operator_failures_BashOperator:1|c" in lines
    assert "airflow.operator_failures_PythonOperator:1|c" in lines
    assert lines.count("airflow.operator_failures:1|c") == 2
    assert not any("killed_externally" in line for line in lines)


TWO = """
with DAG("held", schedule=None):
    EmptyOperator(task_id="kept")
    EmptyOperator(task_id="lost")
"""


class KeepsOne(Holding):
    """An executor that, taking over, still holds only the try of task ``kept``."""

    def adopt(self, keys: Sequence[TaskKey]) -> set[TaskKey]:
        return super().adopt([key for key in keys if key.task_id == "kept"])


def test_a_dead_schedulers_tries_count_as_orphans_adopted_and_cleared(
    statsd_listener: StatsdListener, make_system: Callable[..., System]
) -> None:
    system = make_system(**_metrics(statsd_listener))
    system.add_dag("held", TWO)
    system.scheduler.stop()  # the fixture's own scheduler steps aside
    first = start_scheduler(system, Holding())
    run_id = system.trigger("held")
    queued = TaskState.QUEUED
    first.run_until(lambda: set(system.states("held", run_id).values()) == {queued}, timeout=30)
    die_silently(system, first)
    second = start_scheduler(system, KeepsOne())
    second.stop()
    adopted = "airflow.scheduler.orphaned_tasks.adopted:1|c"
    cleared = "airflow.scheduler.orphaned_tasks.cleared:1|c"
    # (Datagrams from two sockets may come out of order: the drain's sentinel can overtake.)
    assert statsd_listener.wait_for(lambda lines: adopted in lines and cleared in lines)
    lines = statsd_listener.drain()
    assert (lines.count(adopted), lines.count(cleared)) == (1, 1)
    assert system.state("held", run_id, "kept") is TaskState.QUEUED
    assert system.state("held", run_id, "lost") is TaskState.SCHEDULED
