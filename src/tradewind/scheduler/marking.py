"""What people do to runs by hand, continued: mark task instances (with scopes) and runs as
succeeded or failed, re-queue a run, delete a run.

A try still running when its task instance is marked is not overwritten by its own report
later: reports only change queued or running tries (see ``finishing.mark_finished``), and
the scheduler stops tries the metastore no longer expects, as soon as it hears of the change
(see ``Scheduler._stop_abandoned_tries``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.metastore.models import DagRun, TaskInstance
from tradewind.metastore.store import handmade as handmade_store
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.scheduler.operations import (
    FAILED_STATES,
    NO_SCOPE,
    NotFound,
    OperationError,
    Scope,
    Selector,
    clear_instances,
    dag_of,
    existing_run,
    scoped_instances,
)
from tradewind.states import FINISHED_TASK_STATES, DagRunState, TaskState

MARKABLE = frozenset({TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED})
# Marking a run failed: tries under way fail, the tasks that have not started are skipped.
_FAIL_UNDER_WAY = frozenset(
    {
        TaskState.QUEUED.value,
        TaskState.RUNNING.value,
        TaskState.RESTARTING.value,
        TaskState.UP_FOR_RESCHEDULE.value,
    }
)
_UNFINISHED = frozenset(s.value for s in TaskState if s not in FINISHED_TASK_STATES)


def _value(state: str | None) -> str:
    return state or TaskState.NONE.value


def mark_tasks(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[Selector],
    state: TaskState,
    *,
    scope: Scope = NO_SCOPE,
    dry_run: bool = False,
    now: datetime,
) -> list[TaskInstance]:
    """Set the task instances ``scope`` reaches to ``state`` (success, failed or skipped);
    returns those that change (as they are after the change; as they are now with
    ``dry_run``, which changes nothing).

    As in Airflow, marking success resumes the run: failed tasks downstream of the marked ones
    are cleared so that the scheduler runs them again. ``task_ids`` may name single instances
    of a mapped task as (task id, map index); a mapped task named by its id is marked whole.
    """
    if state not in MARKABLE:
        raise OperationError(
            f"a task instance can be marked success, failed or skipped, not {state}"
        )
    found = scoped_instances(session, dag_id, run_id, task_ids, scope)
    changing = [(ti, run_pk) for ti, run_pk in found if _value(ti.state) != state.value]
    if dry_run or not changing:
        return [ti for ti, _ in changing]
    changed = set(
        handmade_store.set_instance_states(session, {ti.id: state for ti, _ in changing}, now=now)
    )
    marked = [(ti, run_pk) for ti, run_pk in changing if ti.id in changed]
    if state is TaskState.SUCCESS:
        _resume_downstream(session, dag_id, marked, now=now)
    run_store.request_decision(session, sorted({run_pk for _, run_pk in marked}))
    return instance_store.instances_by_id(session, [ti.id for ti, _ in marked])


def _resume_downstream(
    session: Session, dag_id: str, marked: list[tuple[TaskInstance, int]], *, now: datetime
) -> None:
    """Clear the failed tasks downstream of tasks marked success (not the marked ones)."""
    by_run: dict[str, set[str]] = {}
    for ti, _ in marked:
        by_run.setdefault(ti.run_id, set()).add(ti.task_id)
    for run_id, task_ids in by_run.items():
        run = existing_run(session, dag_id, run_id)
        dag = dag_of(session, run)
        below = set().union(*(dag.relatives(t) for t in task_ids if t in dag.tasks)) - task_ids
        failed: list[Selector] = [
            ti.task_id if ti.map_index < 0 else (ti.task_id, ti.map_index)
            for ti in task_store.instances_of_run(session, dag_id, run_id)
            if ti.task_id in below and ti.state in FAILED_STATES
        ]
        if failed:
            clear_instances(session, dag_id, run_id, failed, now=now)


def mark_run(
    session: Session, dag_id: str, run_id: str, state: DagRunState, *, now: datetime
) -> DagRun:
    """Set a run's state by hand, as Airflow does.

    success: its unfinished task instances succeed too. failed: its queued and running tries
    fail and the tasks that have not started are skipped. queued: the run waits to be started
    again (its task instances are left as they are; clear them to run them again).
    """
    if state is DagRunState.RUNNING:
        raise OperationError("a run can be marked success, failed or queued, not running")
    run = run_store.lock_run(session, dag_id, run_id)
    if run is None:
        raise NotFound(f"DAG {dag_id!r} has no run {run_id!r}")
    if state is not DagRunState.QUEUED:
        changes: dict[int, TaskState] = {}
        for ti in task_store.instances_of_run(session, dag_id, run_id):
            current = _value(ti.state)
            if current not in _UNFINISHED:
                continue
            if state is DagRunState.SUCCESS:
                changes[ti.id] = TaskState.SUCCESS
            elif current in _FAIL_UNDER_WAY:
                changes[ti.id] = TaskState.FAILED
            else:
                changes[ti.id] = TaskState.SKIPPED
        handmade_store.set_instance_states(session, changes, now=now)
    run_store.set_run_state(session, run.id, state, now)
    if state is not DagRunState.QUEUED:
        # Later runs waiting on this one (depends_on_past) may go on.
        run_store.request_decision_for_later_runs(session, run)
    session.refresh(run)
    return run


def delete_run(session: Session, dag_id: str, run_id: str) -> None:
    """Delete a run and what was recorded about its tasks; a try still running is stopped by
    the scheduler (the metastore no longer expects it)."""
    run_store.delete_run(session, existing_run(session, dag_id, run_id))
