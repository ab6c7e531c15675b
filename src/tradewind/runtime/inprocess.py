"""Running one task in the calling process without recording anything (``tasks test``).

The run is transient: no DAG run row is needed, nothing is written to the metastore, and the
log goes to the terminal. Variables, connections and XComs are read from the metastore when
one is given. The task gets the context entries a real try gets (see
:mod:`tradewind.runtime.tryservices`): a TriggerDagRunOperator triggers its run for real, as
in Airflow's ``tasks test``.
"""

from __future__ import annotations

import copy
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tradewind.runtime import execute, localtrigger, logs, lookups
from tradewind.runtime.context import (
    DagRunView,
    TaskInstanceView,
    build_context,
    is_rescheduling_sensor,
    sensor_state,
)
from tradewind.runtime.reader import MetastoreReader
from tradewind.runtime.tryservices import try_services
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.triggers import runstates
from tradewind.workloads import TaskKey

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG


def transient_run(
    dag: DAG, logical_date: datetime, conf: Mapping[str, Any] | None = None
) -> DagRunView:
    """A manual run of ``dag`` at ``logical_date`` that exists only in memory."""
    interval = dag.timetable.infer_manual_data_interval(run_after=logical_date)
    return DagRunView(
        dag_id=dag.dag_id,
        run_id=f"test__{logical_date.isoformat()}",
        logical_date=logical_date,
        data_interval_start=interval.start,
        data_interval_end=interval.end,
        run_type="manual",
        conf=dict(conf or {}),
        start_date=datetime.now(UTC),
        external_trigger=True,
    )


def run_in_process(
    dag: DAG,
    task: BaseOperator,
    run: DagRunView,
    reader: MetastoreReader,
    *,
    settings: Settings,
    level: str = "INFO",
    map_index: int = -1,
) -> execute.Outcome:
    """Run ``task`` for ``run`` here, logging to stderr (masked); nothing is recorded.

    A task that defers has its trigger run here until it fires, then resumes (again and
    again if it defers again), as it would with a triggerer. Raises ParamValidationError
    when the run's conf does not fit the DAG's params.
    """
    key = TaskKey(dag.dag_id, run.run_id, task.task_id, map_index)
    with logs.TerminalLog(reader.masker, level):
        ti = TaskInstanceView(
            key,
            task,
            reader,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            max_map_length=settings.core.max_map_length,
        )
        context = build_context(dag, task, run, ti, reader, test_mode=True)
        if is_rescheduling_sensor(task):
            context.update(sensor_state(None, 0))
        services, cross_dag = try_services(task, settings)
        context.update(services)
        timeout = task.execution_timeout.total_seconds() if task.execution_timeout else None
        try:
            with lookups.reading_from(reader, settings):
                with runstates.installed(cross_dag):
                    outcome = _run_through_deferrals(task, context, ti, timeout)
                execute.run_callbacks(task, context, outcome, key.try_number)
        finally:
            cross_dag.close()
    if outcome.error is not None:
        outcome.error = reader.masker.mask(outcome.error)
    return outcome


def _run_through_deferrals(
    task: BaseOperator, context: dict[str, Any], ti: TaskInstanceView, timeout: float | None
) -> execute.Outcome:
    """Run the task; while it defers, run its trigger here and resume it (each time in a
    fresh copy of the task, as a resumed try starts from the DAG file again)."""
    pristine = copy.copy(task)
    outcome = execute.execute_task(task, context, ti, timeout)
    while outcome.state is TaskState.DEFERRED and outcome.deferral is not None:
        step = localtrigger.wait(outcome.deferral)
        if step.end_state is TaskState.FAILED:
            return execute.failed("the trigger ended the task as failed", retryable=False)
        if step.end_state is not None:
            return execute.Outcome(step.end_state, xcoms=outcome.xcoms)
        fresh = copy.copy(pristine)
        context["task"] = ti.task = fresh
        outcome = execute.execute_task(
            fresh,
            context,
            ti,
            timeout,
            next_method=step.next_method,
            next_kwargs=step.next_kwargs,
        )
    return outcome
