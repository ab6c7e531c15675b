"""Clearing and marking by hand, on every dialect: scopes across runs, guarded state changes."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduling import System, make_system_fixture, system_fixture  # noqa: F401

from tradewind.metastore.store import runs as run_store
from tradewind.scheduler import marking
from tradewind.scheduler.operations import Scope, clear_instances
from tradewind.states import DagRunState, TaskState


def test_mark_and_clear_reach_past_and_future_runs(system: System) -> None:
    system.add_dag(
        "ops",
        """
        with DAG("ops", schedule=None):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    runs = [
        system.trigger("ops", logical_date=datetime(2024, 3, day, tzinfo=UTC)) for day in (1, 2, 3)
    ]
    for run_id in runs:
        assert system.wait("ops", run_id) == "success"
    now = datetime.now(UTC)
    with system.sessions.begin() as session:
        marked = marking.mark_tasks(
            session, "ops", runs[1], ["b"], TaskState.FAILED, scope=Scope(past=True), now=now
        )
    assert sorted(ti.run_id for ti in marked) == runs[:2]
    assert [system.state("ops", r, "b") for r in runs] == [
        TaskState.FAILED,
        TaskState.FAILED,
        TaskState.SUCCESS,
    ]
    with system.sessions.begin() as session:
        cleared = clear_instances(
            session,
            "ops",
            runs[0],
            ["a"],
            scope=Scope(downstream=True, future=True),
            only_failed=True,
            now=now,
        )
    assert sorted(ti.run_id for ti in cleared) == runs[:2]
    for run_id in runs[:2]:
        assert system.wait("ops", run_id) == "success"
        assert system.instance("ops", run_id, "b").try_number == 2
        assert system.instance("ops", run_id, "a").try_number == 1
    with system.sessions.begin() as session:
        run = marking.mark_run(session, "ops", runs[2], DagRunState.FAILED, now=now)
        assert run.state == "failed"
    with system.sessions() as session:
        found = run_store.get_run(session, "ops", runs[2])
        assert found is not None
        assert found.state == "failed"
