"""The scheduler's decisions as pure functions: states in, decisions out. No I/O here."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from tradewind.authoring.rules import TriggerRule
from tradewind.parsing.serialize import SerializedDag, SerializedTask
from tradewind.states import DagRunState, TaskState

FINISHED = frozenset(
    {TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED, TaskState.UPSTREAM_FAILED}
)
# Done for good: downstream tasks can be decided (removed ones count as absent).
SETTLED = FINISHED | {TaskState.REMOVED}
# States from which the scheduler may still decide what a task does next. Every other state
# that is not SETTLED (queued, running, restarting, up_for_retry, up_for_reschedule) is a task
# under way: not done for its downstream tasks' trigger rules nor for its run's outcome.
UNDECIDED = frozenset({TaskState.NONE, TaskState.SCHEDULED})


class Readiness(enum.Enum):
    WAIT = "wait"
    READY = "ready"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True)
class UpstreamCounts:
    total: int
    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    # The direct upstream tasks that are setup tasks (a teardown's rule looks at them).
    setups: int = 0
    setups_success: int = 0
    setups_skipped: int = 0

    @property
    def done(self) -> int:
        return self.success + self.skipped + self.failed + self.upstream_failed

    @property
    def all_done(self) -> bool:
        return self.done >= self.total

    @property
    def any_failed(self) -> bool:
        return self.failed + self.upstream_failed > 0

    @classmethod
    def of(
        cls, states: Iterable[TaskState], setup_states: Iterable[TaskState] = ()
    ) -> UpstreamCounts:
        """Counts of the upstream tasks' ``states``; ``setup_states`` are those of the setup
        tasks among them (counted in ``states`` too)."""
        counts = Counter(states)
        setups = Counter(setup_states)
        return cls(
            total=counts.total() - counts[TaskState.REMOVED],
            success=counts[TaskState.SUCCESS],
            skipped=counts[TaskState.SKIPPED],
            failed=counts[TaskState.FAILED],
            upstream_failed=counts[TaskState.UPSTREAM_FAILED],
            setups=setups.total() - setups[TaskState.REMOVED],
            setups_success=setups[TaskState.SUCCESS],
            setups_skipped=setups[TaskState.SKIPPED],
        )


def _when_all_done(up: UpstreamCounts, outcome: Readiness) -> Readiness:
    return outcome if up.all_done else Readiness.WAIT


def evaluate_trigger_rule(rule: TriggerRule, up: UpstreamCounts) -> Readiness:
    """What a task whose upstream tasks are in ``up`` should do now, by its trigger rule."""
    r = Readiness
    if up.total == 0 or rule is TriggerRule.ALWAYS:
        return r.READY
    if rule is TriggerRule.ALL_SUCCESS:
        if up.any_failed:
            return r.UPSTREAM_FAILED
        if up.skipped:
            return r.SKIP
        return _when_all_done(up, r.READY)
    if rule is TriggerRule.ALL_FAILED:
        if up.success or up.skipped:
            return r.SKIP
        return _when_all_done(up, r.READY)
    if rule is TriggerRule.ALL_DONE:
        return _when_all_done(up, r.READY)
    if rule is TriggerRule.ALL_DONE_MIN_ONE_SUCCESS:
        return _when_all_done(up, r.READY if up.success else r.SKIP)
    if rule is TriggerRule.ALL_SKIPPED:
        if up.success or up.failed or up.upstream_failed:
            return r.SKIP
        return _when_all_done(up, r.READY)
    if rule is TriggerRule.ONE_SUCCESS:
        if up.success:
            return r.READY
        if not up.all_done:
            return r.WAIT
        return r.SKIP if up.skipped == up.total else r.UPSTREAM_FAILED
    if rule is TriggerRule.ONE_FAILED:
        if up.any_failed:
            return r.READY
        return _when_all_done(up, r.SKIP)
    if rule is TriggerRule.ONE_DONE:
        if up.success or up.failed:
            return r.READY
        return _when_all_done(up, r.SKIP)
    if rule is TriggerRule.NONE_FAILED:
        if up.any_failed:
            return r.UPSTREAM_FAILED
        return _when_all_done(up, r.READY)
    if rule is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS:
        if up.any_failed:
            return r.UPSTREAM_FAILED
        return _when_all_done(up, r.READY if up.success else r.SKIP)
    if rule is TriggerRule.NONE_SKIPPED:
        if up.skipped:
            return r.SKIP
        return _when_all_done(up, r.READY)
    if rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
        return _when_all_done(up, _after_setups(up))
    raise ValueError(f"unknown trigger rule {rule!r}")


def _after_setups(up: UpstreamCounts) -> Readiness:
    """A teardown whose upstream tasks are done: it runs if one of its setups succeeded (or it
    has none), is skipped if they all were, and cannot run if they failed."""
    if not up.setups or up.setups_success:
        return Readiness.READY
    if up.setups_skipped >= up.setups:
        return Readiness.SKIP
    return Readiness.UPSTREAM_FAILED


READINESS_STATE = {
    Readiness.SKIP: TaskState.SKIPPED,
    Readiness.UPSTREAM_FAILED: TaskState.UPSTREAM_FAILED,
    Readiness.READY: TaskState.SCHEDULED,
}


Instance = tuple[str, int]
"""A task instance of a run: ``(task_id, map_index)``; map_index -1 for a task not (yet) mapped."""
RunStates = Mapping[str, Mapping[int, TaskState]]
"""The states of a run's task instances: task_id -> map_index -> state."""
_UNKNOWN: Mapping[int, TaskState] = {-1: TaskState.NONE}


@dataclass(frozen=True)
class Decisions:
    """What :func:`decide_tasks` decided: new states of instances, and the mapped tasks whose
    unexpanded instance may run now, so must be expanded first (their instances are then
    decided in turn)."""

    changes: dict[Instance, TaskState]
    expand: frozenset[str] = frozenset()


def decide_tasks(
    dag: SerializedDag,
    states: RunStates,
    candidates: Iterable[str],
    *,
    past_ok: Mapping[str, bool] | None = None,
    fresh: Collection[str] = (),
) -> Decisions:
    """New states for the instances of candidate tasks whose trigger rule can now be decided.

    Decisions cascade: a task skipped or failed here is seen by its downstream tasks in the same
    call, so a whole branch is settled at once. ``past_ok`` holds, for tasks with
    depends_on_past, whether the previous run allows them to start (absent means allowed);
    those with wait_for_past_depends_before_skipping wait for it before being skipped too.
    A mapped task's unexpanded instance that may run is not scheduled but listed in
    ``expand``; so is a mapped task expanded before whose instances were all cleared (its
    input may have changed since), unless it is among the ``fresh`` ones, just expanded.
    """
    # The states as decided so far: a task's instances are copied when first changed.
    current: dict[str, Mapping[int, TaskState]] = dict(states)
    owned: dict[str, dict[int, TaskState]] = {}
    changes: dict[Instance, TaskState] = {}
    expand: set[str] = set()
    pending = sorted(set(candidates))
    seen_rounds = 0
    while pending and seen_rounds <= len(dag.tasks):
        seen_rounds += 1
        next_round: set[str] = set()
        for task_id in pending:
            task = dag.tasks.get(task_id)
            if task is None:
                continue
            instances = current.setdefault(task_id, _UNKNOWN)
            if task_id not in fresh and _to_revise(dag, task, instances, current, past_ok):
                expand.add(task_id)
                continue
            # Outside a mapped group every instance waits for the same upstream instances.
            shared = None if task.mapped_group_id else upstream_counts(dag, task, current)
            for map_index, state in sorted(instances.items()):
                if state not in UNDECIDED:
                    continue
                up = shared or upstream_counts(dag, task, current, map_index)
                readiness = evaluate_trigger_rule(task.trigger_rule, up)
                if _waits_for_past(task, readiness, past_ok):
                    readiness = Readiness.WAIT
                if readiness is Readiness.READY and map_index < 0 and task.is_mapped:
                    expand.add(task_id)
                    continue
                new = READINESS_STATE.get(readiness)
                if new is None or new is state:
                    continue
                if task_id not in owned:
                    owned[task_id] = dict(instances)
                    instances = current[task_id] = owned[task_id]
                owned[task_id][map_index] = new
                changes[(task_id, map_index)] = new
                if new is not TaskState.SCHEDULED:
                    next_round.update(task.downstream_task_ids)
        pending = sorted(next_round)
    return Decisions(changes, frozenset(expand))


def _to_revise(
    dag: SerializedDag,
    task: SerializedTask,
    instances: Mapping[int, TaskState],
    states: RunStates,
    past_ok: Mapping[str, bool] | None,
) -> bool:
    """Whether an expanded mapped task is to run again from the start (every instance in
    state none) and may now, so that its instances are first revised to its input."""
    if not task.is_mapped or not instances or min(instances) < 0:
        return False
    if any(state is not TaskState.NONE for state in instances.values()):
        return False
    group = task.mapped_group_id
    if group is not None and any(
        dag.tasks[u].mapped_group_id == group for u in task.upstream_task_ids if u in dag.tasks
    ):
        return False  # revised with the first tasks of its group
    readiness = evaluate_trigger_rule(task.trigger_rule, upstream_counts(dag, task, states))
    return readiness is Readiness.READY and not _waits_for_past(task, readiness, past_ok)


def _waits_for_past(
    task: SerializedTask, readiness: Readiness, past_ok: Mapping[str, bool] | None
) -> bool:
    """Whether the previous run holds the task back: from running (depends_on_past), and
    from being skipped too with wait_for_past_depends_before_skipping."""
    if not past_ok or past_ok.get(task.task_id, True):
        return False
    return readiness is Readiness.READY or (
        readiness is Readiness.SKIP and task.wait_for_past_depends_before_skipping
    )


def _upstream_states(
    dag: SerializedDag, task: SerializedTask, upstream_id: str, states: RunStates, map_index: int
) -> Iterable[TaskState]:
    """The states of the upstream task's instances that ``task``'s instance waits for: every
    one, except inside an expanded mapped task group, where instance i waits for instance i."""
    instances = states.get(upstream_id, _UNKNOWN)
    group = task.mapped_group_id
    upstream = dag.tasks.get(upstream_id)
    in_group = upstream is not None and group is not None and upstream.mapped_group_id == group
    if map_index >= 0 and in_group and map_index in instances:
        return (instances[map_index],)
    return instances.values()


def upstream_counts(
    dag: SerializedDag, task: SerializedTask, states: RunStates, map_index: int = -1
) -> UpstreamCounts:
    ups = task.upstream_task_ids
    setups = dag.setup_upstreams.get(task.task_id, ())
    if map_index >= 0 and task.mapped_group_id is not None:
        return UpstreamCounts.of(
            (s for u in ups for s in _upstream_states(dag, task, u, states, map_index)),
            (s for u in setups for s in _upstream_states(dag, task, u, states, map_index)),
        )
    # Every instance of every upstream task: counted without a call per upstream task (a
    # join after a fan-out of thousands is decided in every pass that ends one of them).
    get = states.get
    return UpstreamCounts.of(
        chain.from_iterable([get(u, _UNKNOWN).values() for u in ups]),
        chain.from_iterable([get(u, _UNKNOWN).values() for u in setups]),
    )


def _counts_for_outcome(task: SerializedTask) -> bool:
    """Whether a task's own state may fail its run: a teardown's may not, unless it has
    on_failure_fail_dagrun."""
    return not task.is_teardown or task.on_failure_fail_dagrun


def outcome_leaves(dag: SerializedDag) -> list[str]:
    """The tasks whose states decide a run's outcome, as in Airflow: the leaves, where a
    teardown is passed over (its upstream tasks count instead) unless it has
    on_failure_fail_dagrun."""
    leaves = [
        task.task_id
        for task in dag.tasks.values()
        if _counts_for_outcome(task)
        and all(not _counts_for_outcome(dag.tasks[d]) for d in task.downstream_task_ids)
    ]
    return leaves or [task.task_id for task in dag.leaves]


def run_outcome(dag: SerializedDag, states: RunStates) -> DagRunState | None:
    """The run's final state once every task instance is finished, else None (still running).

    As in Airflow, a run fails when any instance of a leaf task (see :func:`outcome_leaves`)
    failed or could not run for an upstream failure; it succeeds when every one succeeded or
    was skipped.
    """
    tasks = dag.tasks
    for task_id, instances in states.items():
        if task_id in tasks and not SETTLED.issuperset(instances.values()):
            return None
    bad = {TaskState.FAILED, TaskState.UPSTREAM_FAILED}
    for leaf in outcome_leaves(dag):
        if not bad.isdisjoint(states.get(leaf, {}).values()):
            return DagRunState.FAILED
    return DagRunState.SUCCESS


def retry_delay(task: SerializedTask, try_number: int) -> timedelta:
    """How long to wait before the next try after try ``try_number`` failed."""
    delay = task.retry_delay
    if task.retry_exponential_backoff:
        delay = delay * (2 ** max(0, try_number - 1))
    if task.max_retry_delay is not None:
        delay = min(delay, task.max_retry_delay)
    return timedelta(seconds=max(0.0, delay))


def after_failure(
    task: SerializedTask, try_number: int, max_tries: int, *, retryable: bool, now: datetime
) -> tuple[TaskState, datetime | None]:
    """Failed for good, or up for retry at a given time."""
    if retryable and try_number <= max_tries:
        return TaskState.UP_FOR_RETRY, now + retry_delay(task, try_number)
    return TaskState.FAILED, None
