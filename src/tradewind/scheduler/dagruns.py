"""Create, start, advance and finish DAG runs (inside the caller's transaction).

Advancing a run (:func:`advance_run`) returns what it decided (:class:`Advance`), with the DAG
callback due when the run finished; the callers pass that on to the pass's result, which
starts it once the pass has committed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from tradewind import timetables
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.parsing.serialize import SerializedDag, deserialize_dag
from tradewind.scheduler import decide, mapping, observe
from tradewind.scheduler.callbacks import Callback
from tradewind.scheduler.mapping import new_task
from tradewind.states import DagRunState, DagRunType, TaskState

log = logging.getLogger(__name__)


class DagCache:
    """Deserialized DAG versions by serialized_dag id; a run keeps the version it started with."""

    def __init__(self, size: int = 256, *, max_map_length: int = 1024) -> None:
        self._size = size
        # core.max_map_length: the most instances a mapped task of these DAGs expands to.
        self.max_map_length = max_map_length
        self._items: OrderedDict[int, SerializedDag] = OrderedDict()

    def get(self, session: Session, serialized_dag_id: int | None) -> SerializedDag | None:
        if serialized_dag_id is None:
            return None
        found = self._items.get(serialized_dag_id)
        if found is not None:
            self._items.move_to_end(serialized_dag_id)
            return found
        data = run_store.serialized_data(session, serialized_dag_id)
        if data is None:
            return None
        dag = deserialize_dag(data)
        self._items[serialized_dag_id] = dag
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return dag

    def latest(self, session: Session, dag_id: str) -> tuple[int, SerializedDag] | None:
        row = dag_store.latest_serialized(session, dag_id)
        if row is None:
            return None
        dag = self.get(session, row.id)
        return (row.id, dag) if dag else None


def create_scheduled_runs(session: Session, cache: DagCache, now: datetime, limit: int) -> int:
    """A run for every DAG whose next interval is due, within max_active_runs."""
    due = run_store.dags_due(session, now, limit)
    if not due:
        return 0
    active = run_store.active_run_counts(session, [d.dag_id for d in due])
    created = 0
    for dag_row in due:
        if active.get(dag_row.dag_id, 0) >= dag_row.max_active_runs:
            continue
        latest = cache.latest(session, dag_row.dag_id)
        if latest is None or dag_row.next_dagrun is None:
            continue
        _, dag = latest
        interval = None
        if dag_row.next_dagrun_data_interval_start and dag_row.next_dagrun_data_interval_end:
            interval = (
                dag_row.next_dagrun_data_interval_start,
                dag_row.next_dagrun_data_interval_end,
            )
        try:
            run_store.create_dag_run(
                session,
                dag_id=dag_row.dag_id,
                run_id=run_store.run_id_for(DagRunType.SCHEDULED, dag_row.next_dagrun),
                logical_date=dag_row.next_dagrun,
                data_interval=interval,
                run_type=DagRunType.SCHEDULED,
                conf=None,
                now=now,
            )
            created += 1
        except run_store.RunExists:
            log.info("run of %s at %s exists already", dag_row.dag_id, dag_row.next_dagrun)
        following = dag.next_dagrun_info(
            timetables.DataInterval(*interval) if interval else None, now
        )
        run_store.set_next_dagrun(
            session,
            dag_row.dag_id,
            logical_date=following.logical_date if following else None,
            data_interval=(
                (following.data_interval.start, following.data_interval.end) if following else None
            ),
            create_after=following.run_after if following else None,
        )
    return created


def start_queued_runs(
    session: Session, cache: DagCache, now: datetime, limit: int
) -> list[Advance]:
    """queued -> running within max_active_runs; creates task instances, settles the roots.
    Returns what settling each started run decided."""
    queued = run_store.queued_runs(session, limit)
    if not queued:
        return []
    running = run_store.active_run_counts(session, sorted({r.dag_id for r in queued}))
    started: list[Advance] = []
    for run in queued:
        dag = dag_of(session, cache, run)
        if dag is None or running.get(run.dag_id, 0) >= dag.max_active_runs:
            continue
        advance = start_run(session, cache, run, dag, now)
        if advance is not None:
            running[run.dag_id] = running.get(run.dag_id, 0) + 1
            started.append(advance)
    return started


def start_run(
    session: Session, cache: DagCache, run: DagRun, dag: SerializedDag, now: datetime
) -> Advance | None:
    """queued -> running: create the run's task instances and settle its roots (None: another
    scheduler started it first)."""
    if not run_store.start_run(session, run, now):
        return None
    observe.run_changed(session, run, DagRunState.RUNNING, now)
    task_store.create_task_instances(session, run, [new_task(t) for t in dag.tasks.values()])
    advance = advance_run(session, cache, run, dag.task_ids, now)
    if run.run_type == DagRunType.SCHEDULED and run.data_interval_end is not None:
        delay = (now - run.data_interval_end).total_seconds()
        return dataclasses.replace(advance, dag_id=run.dag_id, delay=delay)
    return advance


def dag_of(session: Session, cache: DagCache, run: DagRun) -> SerializedDag | None:
    """The DAG version the run keeps (the latest when its own is gone)."""
    dag = cache.get(session, run.serialized_dag_id)
    if dag is None:
        latest = cache.latest(session, run.dag_id)
        if latest is None:
            return None
        run.serialized_dag_id, dag = latest
    return dag


@dataclass(frozen=True)
class Advance:
    """What advancing a run decided: the tasks whose state changed, the run's outcome if it
    finished now, and the DAG callback due for that outcome (if the DAG has one)."""

    changed: list[decide.Instance]
    outcome: DagRunState | None
    callback: Callback | None = None
    # For the metrics: the run's DAG, how long it ran when it finished now, how late it
    # started after its data interval's end when it is a scheduled run that started now.
    dag_id: str = ""
    duration: float | None = None
    delay: float | None = None


def advance_run(
    session: Session,
    cache: DagCache,
    run: DagRun,
    candidates: Collection[str] | None,
    now: datetime,
    *,
    states: dict[str, dict[int, TaskState]] | None = None,
) -> Advance:
    """Settle what can be settled among ``candidates`` (all undecided tasks when None); finish
    the run when its outcome is decided. ``states``: its instances' states, read in this
    transaction after its last change (read here when None)."""
    dag = cache.get(session, run.serialized_dag_id)
    if dag is None:
        return Advance([], None)
    if states is None:
        states = task_store.instance_states(session, run.dag_id, run.run_id)
    if candidates is None:
        candidates = [
            t for t, found in states.items() if any(s in decide.UNDECIDED for s in found.values())
        ]
    past_ok = _past_ok(session, dag, run, candidates, states)
    changed: list[decide.Instance] = []
    fresh: set[str] = set()
    # Expanding a mapped task gives new instances to decide, which may expand others.
    for _ in range(len(dag.tasks) + 1):
        decisions = decide.decide_tasks(dag, states, candidates, past_ok=past_ok, fresh=fresh)
        changed += _apply(session, run, decisions.changes, states, now)
        if not decisions.expand:
            break
        expanded = mapping.expand_tasks(
            session, run, dag, decisions.expand, max_length=cache.max_map_length, now=now
        )
        states.update(expanded)
        fresh.update(expanded)
        candidates = set(expanded).union(*(dag.tasks[t].downstream_task_ids for t in expanded))
    outcome = decide.run_outcome(dag, states)
    callback = None
    if outcome is not None and run_store.finish_run(session, run.id, outcome, now):
        log.info("run %s of %s finished: %s", run.run_id, run.dag_id, outcome.value)
        observe.run_changed(session, run, outcome, now)
        callback = _callback(dag, run, outcome)
        run_store.request_decision_for_later_runs(session, run)
    else:
        outcome = None
    if run.last_scheduling_decision is None:
        # Asked for by someone (a clear, a mark, a finished run before it): answered now.
        run_store.mark_decided(session, run.id, now)
        set_committed_value(run, "last_scheduling_decision", now)
    ran = (now - run.start_date).total_seconds() if outcome and run.start_date else None
    return Advance(changed, outcome, callback, run.dag_id, ran)


def _apply(
    session: Session,
    run: DagRun,
    changes: Mapping[decide.Instance, TaskState],
    states: dict[str, dict[int, TaskState]],
    now: datetime,
) -> list[decide.Instance]:
    """Write decided states (one statement per state, and per mapped task and state); the
    instances that changed are updated in ``states`` too."""
    groups: dict[tuple[str | None, TaskState], list[decide.Instance]] = {}
    for (task_id, map_index), state in changes.items():
        groups.setdefault((task_id if map_index >= 0 else None, state), []).append(
            (task_id, map_index)
        )
    changed: list[decide.Instance] = []
    for (mapped, state), instances in groups.items():
        indexes: list[int] | None = sorted({map_index for _, map_index in instances})
        if mapped is not None and len(indexes or ()) == len(states[mapped]):
            indexes = None  # every instance of the task: no list of them to send
        changed += task_store.set_states(
            session,
            run.dag_id,
            run.run_id,
            {task_id: state for task_id, _ in instances},
            expected=decide.UNDECIDED,
            now=now,
            map_indexes=indexes,
        )
    for task_id, map_index in changed:
        states[task_id][map_index] = changes[(task_id, map_index)]
    return changed


def _callback(dag: SerializedDag, run: DagRun, outcome: DagRunState) -> Callback | None:
    """The DAG callback due for a run that finished with ``outcome``, if the DAG has one."""
    wanted = (
        dag.has_on_success_callback
        if outcome is DagRunState.SUCCESS
        else dag.has_on_failure_callback
    )
    return Callback(dag.fileloc, run.dag_id, run.run_id, outcome) if wanted else None


def _past_ok(
    session: Session,
    dag: SerializedDag,
    run: DagRun,
    candidates: Collection[str],
    states: decide.RunStates,
) -> dict[str, bool] | None:
    """For the tasks with depends_on_past that may be decided now, whether the previous run
    lets them go on: its try of the task succeeded or was skipped. Where the previous run has
    no such task, ignore_first_depends_on_past (the default) lets it go on.

    Undecided tasks that wait for the past before being skipped are asked about too: the
    decision may reach them in a cascade of skips."""
    tasks = dag.tasks
    needy = {t for t in candidates if t in tasks and tasks[t].depends_on_past}
    needy.update(
        t
        for t in dag.past_waiters
        if any(state in decide.UNDECIDED for state in states.get(t, {}).values())
    )
    if not needy:
        return None
    previous = run_store.previous_run(session, run)
    if previous is None:
        return None
    past = task_store.past_states(session, previous.dag_id, previous.run_id, needy)
    good = {TaskState.SUCCESS, TaskState.SKIPPED}
    return {
        t: past[t] in good if t in past else tasks[t].ignore_first_depends_on_past for t in needy
    }


def timed_out_runs(session: Session, cache: DagCache, now: datetime) -> list[DagRun]:
    """Running runs past their DAG's dagrun_timeout."""
    out = []
    for run in run_store.running_runs(session):
        dag = cache.get(session, run.serialized_dag_id)
        if dag is None or dag.dagrun_timeout is None or run.start_date is None:
            continue
        if run.start_date + timedelta(seconds=dag.dagrun_timeout) <= now:
            out.append(run)
    return out
