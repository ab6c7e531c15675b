"""What people do to runs by hand: clear tasks (with scopes) so the scheduler runs them again.

Marking states by hand is in :mod:`tradewind.scheduler.marking`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.exceptions import TradewindError
from tradewind.metastore.models import NO_MAP_INDEX, DagRun, TaskInstance
from tradewind.metastore.store import crossdag as crossdag_store
from tradewind.metastore.store import handmade as handmade_store
from tradewind.metastore.store import instances as instance_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.serialize import SerializedDag, deserialize_dag
from tradewind.scheduler import markers
from tradewind.states import TaskState


class OperationError(TradewindError):
    """The operation names something that does not exist."""


def clear_tasks(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[str] | None,
    *,
    upstream: bool = False,
    downstream: bool = False,
    now: datetime,
) -> list[str]:
    """Clear tasks of a run (all when ``task_ids`` is None) and reopen the run; returns the ids.

    A queued or running task instance becomes restarting: the scheduler stops its try, then
    runs it again (see ``handmade_store.clear``)."""
    run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise OperationError(f"DAG {dag_id!r} has no run {run_id!r}")
    data = (
        run_store.serialized_data(session, run.serialized_dag_id) if run.serialized_dag_id else None
    )
    if data is None:
        raise OperationError(f"the DAG version of run {run_id!r} is gone")
    dag = deserialize_dag(data)
    chosen = set(dag.tasks) if task_ids is None else set(task_ids)
    unknown = chosen - set(dag.tasks)
    if unknown:
        raise OperationError(f"DAG {dag_id!r} has no task {sorted(unknown)[0]!r}")
    for task_id in list(chosen):
        if upstream:
            chosen |= dag.relatives(task_id, upstream=True)
        if downstream:
            chosen |= dag.relatives(task_id)
    chosen = with_setups_and_teardowns(dag, chosen)
    handmade_store.clear(session, dag_id, run_id, chosen, now=now)
    for task_id in chosen:
        xcom_store.delete_xcoms(session, run.id, task_id)
    run_store.reopen_run(session, run.id, now)
    # Tells the scheduler at once (a restarting try is to be stopped now).
    run_store.request_decision(session, [run.id])
    return sorted(chosen)


def with_setups_and_teardowns(dag: SerializedDag, task_ids: Collection[str]) -> set[str]:
    """``task_ids`` with what clearing them also clears, as in Airflow: the setup tasks they
    depend on (however far upstream), and the teardowns of those setups."""
    chosen = set(task_ids)
    setups = {
        other
        for task_id in chosen
        for other in dag.relatives(task_id, upstream=True) | {task_id}
        if dag.tasks[other].is_setup
    }
    teardowns = {
        down
        for setup in setups
        for down in dag.tasks[setup].downstream_task_ids
        if dag.tasks[down].is_teardown
    }
    return chosen | setups | teardowns


class NotFound(OperationError):
    """The DAG, run or task named does not exist."""


@dataclass(frozen=True)
class Scope:
    """Which task instances an operation reaches beyond the ones named, as in Airflow: the
    tasks upstream / downstream of them (however far), and the same tasks in the DAG's runs
    of an earlier (past) / later (future) logical date."""

    upstream: bool = False
    downstream: bool = False
    past: bool = False
    future: bool = False


NO_SCOPE = Scope()
# What an operation names: a task (all its instances), or (task id, map index), one instance of
# a mapped task, as Airflow's clear takes them.
Selector = str | tuple[str, int]
FAILED_STATES = frozenset({TaskState.FAILED.value, TaskState.UPSTREAM_FAILED.value})


def existing_run(session: Session, dag_id: str, run_id: str) -> DagRun:
    run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise NotFound(f"DAG {dag_id!r} has no run {run_id!r}")
    return run


def dag_of(session: Session, run: DagRun) -> SerializedDag:
    """The DAG version the run runs."""
    data = (
        run_store.serialized_data(session, run.serialized_dag_id) if run.serialized_dag_id else None
    )
    if data is None:
        raise OperationError(f"the DAG version of run {run.run_id!r} is gone")
    return deserialize_dag(data)


def split_selectors(
    selectors: Collection[Selector] | None,
) -> tuple[set[str] | None, dict[str, set[int]]]:
    """The task ids ``selectors`` name (None: every task) and, for the tasks named only by
    (task id, map index), the map indexes named."""
    if selectors is None:
        return None, {}
    whole = {s for s in selectors if isinstance(s, str)}
    some: dict[str, set[int]] = {}
    for selector in selectors:
        if not isinstance(selector, str) and selector[0] not in whole:
            some.setdefault(selector[0], set()).add(selector[1])
    return whole | set(some), some


def map_indexes_reached(
    dag: SerializedDag, chosen: Collection[str], named: dict[str, set[int]]
) -> dict[str, set[int]]:
    """Which instances of the ``chosen`` tasks an operation on the instances ``named`` reaches,
    for the tasks it does not reach whole: the named ones, and the tasks of the same mapped
    task group (instance i of a group's task goes with instance i of the others)."""
    reached = {task_id: set(indexes) for task_id, indexes in named.items()}
    for task_id, indexes in named.items():
        group = dag.tasks[task_id].mapped_group_id if task_id in dag.tasks else None
        if group is None:
            continue
        for other in chosen:
            if other not in named and dag.tasks[other].mapped_group_id == group:
                reached.setdefault(other, set()).update(indexes)
    return reached


def scoped_task_ids(dag: SerializedDag, task_ids: Collection[str] | None, scope: Scope) -> set[str]:
    """``task_ids`` (every task when None) and their relatives in ``scope``."""
    chosen = set(dag.tasks) if task_ids is None else set(task_ids)
    unknown = chosen - set(dag.tasks)
    if unknown:
        raise NotFound(f"DAG {dag.dag_id!r} has no task {sorted(unknown)[0]!r}")
    for task_id in list(chosen):
        if scope.upstream:
            chosen |= dag.relatives(task_id, upstream=True)
        if scope.downstream:
            chosen |= dag.relatives(task_id)
    return chosen


def scoped_instances(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[Selector] | None,
    scope: Scope,
    *,
    clearing: bool = False,
) -> list[tuple[TaskInstance, int]]:
    """The task instances ``scope`` reaches from ``task_ids`` of a run, each with its run's row
    id (relatives come from the run's own DAG version). ``clearing`` adds what a clear
    reaches besides (:func:`with_setups_and_teardowns`). A (task id, map index) names one
    instance of a mapped task: its relatives are reached whole, but for those of its mapped
    task group, reached at the same map index."""
    run = existing_run(session, dag_id, run_id)
    dag = dag_of(session, run)
    names, named = split_selectors(task_ids)
    chosen = scoped_task_ids(dag, names, scope)
    if clearing:
        chosen = with_setups_and_teardowns(dag, chosen)
    reached = map_indexes_reached(dag, chosen, named)
    found = instance_store.instances_in_runs(
        session, dag_id, chosen, run_id=run_id, past=scope.past, future=scope.future
    )
    return [
        (ti, run_pk)
        for ti, run_pk in found
        if ti.task_id not in reached or ti.map_index in reached[ti.task_id]
    ]


def clear_instances(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[Selector] | None,
    *,
    scope: Scope = NO_SCOPE,
    only_failed: bool = False,
    dry_run: bool = False,
    now: datetime,
) -> list[TaskInstance]:
    """Clear the task instances ``scope`` reaches (only failed ones with ``only_failed``) so that
    the scheduler runs them again, and reopen their runs; returns them (as they are after the
    clear, or as they are now with ``dry_run``, which changes nothing). A queued or running one
    is restarting: the scheduler stops its try first, then runs it again.

    With downstream tasks, an ExternalTaskMarker among them also clears its target task and
    that task's downstream tasks in the other DAG's run (following markers there too).

    ``task_ids`` may name single instances of a mapped task as (task id, map index); a mapped
    task named by its id is cleared whole, each instance keeping its row and try number."""
    options = _ClearOptions(only_failed, dry_run, now)
    return _clear(session, dag_id, run_id, task_ids, scope=scope, options=options, depth_left=None)


@dataclass(frozen=True)
class _ClearOptions:
    only_failed: bool
    dry_run: bool
    now: datetime


def _clear(
    session: Session,
    dag_id: str,
    run_id: str,
    task_ids: Collection[Selector] | None,
    *,
    scope: Scope,
    options: _ClearOptions,
    depth_left: int | None,
) -> list[TaskInstance]:
    found = scoped_instances(session, dag_id, run_id, task_ids, scope, clearing=True)
    if options.only_failed:
        found = [(ti, run_pk) for ti, run_pk in found if ti.state in FAILED_STATES]
    marked = _marked(session, dag_id, found) if scope.downstream else []
    if options.dry_run or not found:
        cleared = [ti for ti, _ in found]
    else:
        cleared = _clear_found(session, dag_id, found, options.now)
    for target in marked:
        budget = target.recursion_depth if depth_left is None else depth_left
        if budget <= 0:
            raise OperationError(
                f"clearing reached ExternalTaskMarker's recursion depth at DAG {target.dag_id!r}"
            )
        target_run = crossdag_store.run_at(session, target.dag_id, target.logical_date)
        if target_run is None:
            continue
        cleared += _clear(
            session,
            target.dag_id,
            target_run.run_id,
            [target.task_id],
            scope=Scope(downstream=True),
            options=options,
            depth_left=budget - 1,
        )
    return cleared


def _marked(
    session: Session, dag_id: str, found: list[tuple[TaskInstance, int]]
) -> list[markers.MarkedTask]:
    """The targets of the ExternalTaskMarkers among ``found``, each in its own run."""
    by_run: dict[int, set[str]] = {}
    for ti, run_pk in found:
        by_run.setdefault(run_pk, set()).add(ti.task_id)
    targets: list[markers.MarkedTask] = []
    for run_pk, task_ids in by_run.items():
        run = session.get(DagRun, run_pk)
        if run is None:
            continue
        try:
            targets += markers.marked_tasks(dag_of(session, run), run, task_ids)
        except markers.MarkerError as exc:
            raise OperationError(str(exc)) from None
    return targets


def _clear_found(
    session: Session, dag_id: str, found: list[tuple[TaskInstance, int]], now: datetime
) -> list[TaskInstance]:
    by_run: dict[int, tuple[str, dict[str, set[int]]]] = {}
    for ti, run_pk in found:
        by_run.setdefault(run_pk, (ti.run_id, {}))[1].setdefault(ti.task_id, set()).add(
            ti.map_index
        )
    for run_pk, (that_run, tasks) in by_run.items():
        # Instances of mapped tasks one by one (not all may have been picked); others whole.
        mapped = {t: indexes for t, indexes in tasks.items() if indexes != {NO_MAP_INDEX}}
        handmade_store.clear(session, dag_id, that_run, list(tasks), now=now, map_indexes=mapped)
        for task_id, indexes in tasks.items():
            xcom_store.delete_xcoms(session, run_pk, task_id, map_indexes=indexes)
        run_store.reopen_run(session, run_pk, now)
    run_store.request_decision(session, list(by_run))
    return instance_store.instances_by_id(session, [ti.id for ti, _ in found])
