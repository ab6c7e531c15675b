"""A task's own limits through the real scheduler and local executor: max_active_tis_per_dag
caps the task's tries across all runs of its DAG, while other tasks go on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    most_at_once,
    read_journal,
    system_fixture,
)

from tradewind.states import TaskState


def test_max_active_tis_per_dag_caps_a_task_across_runs(system: System, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    journal = tmp_path / "journal"
    system.add_dag(
        "capped_task",
        f"""
        with DAG("capped_task", schedule=None):
            PythonOperator(task_id="limited", python_callable=work, max_active_tis_per_dag=2,
                           op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
            PythonOperator(task_id="free", python_callable=work,
                           op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
        """,
    )
    runs = [
        system.trigger("capped_task", logical_date=datetime(2024, 1, day, tzinfo=UTC))
        for day in range(1, 5)
    ]

    def count(task_id: str, state: TaskState) -> int:
        return sum(system.state("capped_task", run, task_id) is state for run in runs)

    # The free task runs in every run at once; the limited one in two runs only.
    assert system.run_until(
        lambda: count("free", TaskState.RUNNING) == 4 and count("limited", TaskState.RUNNING) == 2
    )
    system.settle(0.5)
    assert count("limited", TaskState.RUNNING) == 2
    assert count("limited", TaskState.SCHEDULED) == 2
    gate.touch()
    for run in runs:
        assert system.wait("capped_task", run) == "success"
    limited = [e for e in read_journal(journal) if e.task_id == "limited"]
    assert len(limited) == 4
    # As the tries themselves saw it.
    assert most_at_once([(e.start, e.end) for e in limited]) <= 2
