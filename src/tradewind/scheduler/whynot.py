"""Why is this task instance not running? The conditions it waits on, in words, named as
Airflow names its dependencies ("Trigger Rule", "Pool Slots Available", ...): for the UI's task
page, the REST API and ``tradewind tasks failed-deps``.

Read on demand from the metastore (a handful of small queries); the scheduler's loop never
calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.authoring.rules import TriggerRule
from tradewind.metastore.models import DagModel, DagRun, TaskInstance
from tradewind.metastore.store import deferrals as deferral_store
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import room as room_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import triggers as trigger_store
from tradewind.metastore.store import whynot as whynot_store
from tradewind.parsing.serialized import SerializedDag, SerializedTask
from tradewind.scheduler import decide
from tradewind.scheduler.dagruns import DagCache
from tradewind.settings import Settings
from tradewind.states import TaskState

FINAL = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
# What each trigger rule waits for, in words.
RULE_NEEDS = {
    TriggerRule.ALL_SUCCESS: "all upstream tasks to succeed",
    TriggerRule.ALL_FAILED: "all upstream tasks to fail",
    TriggerRule.ALL_DONE: "all upstream tasks to be done",
    TriggerRule.ALL_DONE_MIN_ONE_SUCCESS: "all upstream tasks to be done, one of them a success",
    TriggerRule.ALL_SKIPPED: "all upstream tasks to be skipped",
    TriggerRule.ONE_SUCCESS: "at least one upstream task to succeed",
    TriggerRule.ONE_FAILED: "at least one upstream task to fail",
    TriggerRule.ONE_DONE: "at least one upstream task to be done",
    TriggerRule.NONE_FAILED: "all upstream tasks to be done, none failed",
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: "all upstream tasks done, none failed, one succeeded",
    TriggerRule.NONE_SKIPPED: "all upstream tasks to be done, none skipped",
    TriggerRule.ALWAYS: "nothing",
    TriggerRule.ALL_DONE_SETUP_SUCCESS: "all upstream tasks done and one of its setups succeeded",
}


@dataclass(frozen=True)
class Dep:
    """An unmet condition: its name and why."""

    name: str
    reason: str


class NoSuchInstance(LookupError):
    """The task instance asked about does not exist."""


@dataclass
class _Look:
    session: Session
    settings: Settings
    ti: TaskInstance
    run: DagRun
    dag: DagModel | None
    task: SerializedTask | None
    serialized: SerializedDag | None
    now: datetime


def failed_deps(
    session: Session,
    settings: Settings,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    now: datetime,
) -> list[Dep]:
    """The conditions that keep the task instance from running now (empty: none, it runs or
    is about to)."""
    ti = task_store.get_instance(session, dag_id, run_id, task_id, map_index)
    run = run_store.get_run(session, dag_id, run_id)
    serialized = DagCache(size=1).get(session, run.serialized_dag_id) if run else None
    known = serialized is not None and task_id in serialized.tasks
    if run is not None and ti is None and run.state == "queued" and known:
        # A queued run's task instances come when it starts.
        return _system(session, settings, run, session.get(DagModel, dag_id), now)
    if ti is None or run is None:
        raise NoSuchInstance(f"no task instance {task_id!r} [{map_index}] in run {run_id!r}")
    look = _Look(
        session,
        settings,
        ti,
        run,
        session.get(DagModel, dag_id),
        serialized.tasks.get(task_id) if serialized is not None else None,
        serialized,
        now,
    )
    state = ti.state
    if state in FINAL:
        return [
            Dep(
                "Task Instance State",
                f"Task is in the '{state}' state, which is final: clear it to run it again.",
            )
        ]
    if state == TaskState.RUNNING.value:
        return []
    deps = _system(session, settings, run, look.dag, now)
    if state == TaskState.DEFERRED.value:
        deps.append(_deferred(look))
    elif state in (TaskState.UP_FOR_RETRY.value, TaskState.UP_FOR_RESCHEDULE.value):
        deps.append(_waiting_time(look))
    elif state == TaskState.QUEUED.value:
        deps.extend(_executor_slots(look))
        deps.append(_in_queue(look))
    elif state in (None, TaskState.NONE.value, TaskState.SCHEDULED.value):
        waits = _upstream(look) if state != TaskState.SCHEDULED.value else []
        deps.extend(waits)
        if not waits:
            deps.extend(_room(look))
    return deps


def _system(
    session: Session, settings: Settings, run: DagRun, dag: DagModel | None, now: datetime
) -> list[Dep]:
    """The scheduler, the DAG and the run: what holds back every task of the run."""
    deps = []
    timeout = settings.scheduler.job_timeout
    alive = job_store.alive_jobs(session, job_store.SCHEDULER, now=now, timeout=timeout)
    if not alive:
        last = job_store.latest_heartbeat(session, job_store.SCHEDULER)
        seen = f"last heartbeat {last:%Y-%m-%d %H:%M:%S} UTC" if last else "none ever seen"
        deps.append(
            Dep(
                "Scheduler Alive",
                f"No scheduler is running (no heartbeat in the last {timeout:g}s; {seen}): "
                "start one with `tradewind scheduler`.",
            )
        )
    if dag is not None and dag.is_paused:
        deps.append(Dep("Dag Not Paused", f"The DAG {dag.dag_id} is paused: unpause it."))
    if run.state == "queued":
        running = whynot_store.running_runs(session, run.dag_id)
        limit = dag.max_active_runs if dag is not None else None
        if limit is not None and running >= limit:
            why = f"the DAG has {running} running runs and its max_active_runs is {limit}"
        else:
            why = "the scheduler starts it at its next pass"
        deps.append(Dep("Dagrun Running", f"The run is queued, not running: {why}."))
    elif run.state != "running":
        deps.append(Dep("Dagrun Running", f"The run is {run.state}, not running."))
    return deps


def _upstream(look: _Look) -> list[Dep]:
    if look.task is None or look.serialized is None:
        return [Dep("Task Exists", "The task is not in the DAG version its run uses.")]
    deps = []
    states = task_store.instance_states(look.session, look.ti.dag_id, look.ti.run_id)
    typed = {t: {i: TaskState(s) for i, s in m.items()} for t, m in states.items()}
    up = decide.upstream_counts(look.serialized, look.task, typed, look.ti.map_index)
    if decide.evaluate_trigger_rule(look.task.trigger_rule, up) is decide.Readiness.WAIT:
        rule = look.task.trigger_rule
        pending = sorted(
            u
            for u in look.task.upstream_task_ids
            if any(
                state.value not in FINAL for state in typed.get(u, {-1: TaskState.NONE}).values()
            )
        )
        shown = ", ".join(pending[:5]) + (f" and {len(pending) - 5} more" * (len(pending) > 5))
        deps.append(
            Dep(
                "Trigger Rule",
                f"Task's trigger rule '{rule.value}' requires {RULE_NEEDS.get(rule, rule.value)}; "
                f"of its {up.total} upstream tasks {up.success} succeeded, {up.failed} failed, "
                f"{up.skipped} skipped, {up.upstream_failed} upstream failed, "
                f"{up.total - up.done} not done" + (f" ({shown})" if shown else "") + ".",
            )
        )
    if look.task.depends_on_past:
        previous = whynot_store.previous_state(look.session, look.ti, look.run)
        if previous is not None and previous[1] not in ("success", "skipped"):
            deps.append(
                Dep(
                    "Previous Dagrun State",
                    f"depends_on_past is set and this task in the previous run ({previous[0]}) "
                    f"is {previous[1] or 'not run'}, not success or skipped.",
                )
            )
    return deps


def _room(look: _Look) -> list[Dep]:
    """Pools, concurrency limits and the executor's slots: what keeps a ready try queued."""
    ti, deps = look.ti, []
    free = room_store.pool_room(look.session, lock=False).get(ti.pool)
    if free is None:
        deps.append(Dep("Pool Slots Available", f"Pool '{ti.pool}' does not exist: create it."))
    elif free < ti.pool_slots:
        users = whynot_store.pool_users(look.session, ti.pool)
        held = "; ".join(
            f"{u.dag_id}.{u.task_id} ({u.tries} tries, {u.slots} slots)" for u in users
        )
        deps.append(
            Dep(
                "Pool Slots Available",
                f"Pool '{ti.pool}' has {max(free, 0)} free slots and the task needs "
                f"{ti.pool_slots}; held by {held or 'deferred tries'}.",
            )
        )
    active = room_store.active_counts_by_dag(look.session, [ti.dag_id]).get(ti.dag_id, 0)
    if look.dag is not None and active >= look.dag.max_active_tasks:
        deps.append(
            Dep(
                "Dag Max Active Tasks",
                f"The DAG has {active} tries running or queued; its max_active_tasks is "
                f"{look.dag.max_active_tasks}.",
            )
        )
    deps.extend(_task_limits(look))
    deps.extend(_executor_slots(look))
    return deps


def _task_limits(look: _Look) -> list[Dep]:
    task, ti = look.task, look.ti
    if task is None:
        return []
    per_dag, per_run = task.max_active_tis_per_dag, task.max_active_tis_per_dagrun
    if per_dag is None and per_run is None:
        return []
    counts = room_store.active_counts_by_task_and_run(look.session, {(ti.dag_id, ti.task_id)})
    deps = []
    total = sum(counts.values())
    if per_dag is not None and total >= per_dag:
        deps.append(
            Dep(
                "Task Concurrency",
                f"{total} tries of this task run or are queued over all runs; its "
                f"max_active_tis_per_dag is {per_dag}.",
            )
        )
    in_run = counts.get((ti.dag_id, ti.task_id, ti.run_id), 0)
    if per_run is not None and in_run >= per_run:
        deps.append(
            Dep(
                "Task Concurrency Per Run",
                f"{in_run} tries of this task run or are queued in this run; its "
                f"max_active_tis_per_dagrun is {per_run}.",
            )
        )
    return deps


def _executor_slots(look: _Look) -> list[Dep]:
    busy = whynot_store.occupying_tries(look.session)
    limit = look.settings.core.parallelism
    if busy < limit:
        return []
    return [
        Dep(
            "Executor Slots Available",
            f"All {limit} executor slots (core.parallelism) are taken: {busy} tries are "
            "queued or running.",
        )
    ]


def _in_queue(look: _Look) -> Dep:
    since = look.ti.queued_dttm
    waited = f" for {(look.now - since).total_seconds():.0f}s" if since else ""
    return Dep(
        "Waiting In Executor Queue",
        f"Queued{waited}: the executor has not started it yet.",
    )


def _waiting_time(look: _Look) -> Dep:
    retry = look.ti.state == TaskState.UP_FOR_RETRY.value
    name = "Not In Retry Period" if retry else "Not In Reschedule Period"
    what = f"Try {look.ti.try_number} failed" if retry else "The sensor rescheduled itself"
    when = look.ti.next_try_at
    if when is None:
        return Dep(name, f"{what}; it waits for the scheduler to schedule it again.")
    left = (when - look.now).total_seconds()
    due = f"in {left:.0f}s" if left > 0 else "now: the scheduler picks it up at its next pass"
    return Dep(name, f"{what}; it may run again at {when:%Y-%m-%d %H:%M:%S} UTC ({due}).")


def _deferred(look: _Look) -> Dep:
    trigger = deferral_store.trigger_of(look.session, look.ti.trigger_id)
    if trigger is None:
        return Dep("Deferred", "Deferred, but its trigger is gone: the scheduler fails it soon.")
    timeout = look.settings.triggerer.job_timeout
    alive = job_store.alive_jobs(
        look.session, trigger_store.TRIGGERER, now=look.now, timeout=timeout
    )
    if trigger.triggerer_id is not None and any(j.id == trigger.triggerer_id for j in alive):
        runner = f"run by triggerer job {trigger.triggerer_id}"
    elif alive:
        runner = "not yet taken by a triggerer"
    else:
        runner = "no triggerer is running: start one with `tradewind triggerer`"
    until = look.ti.trigger_timeout
    limit = f"; it times out at {until:%Y-%m-%d %H:%M:%S} UTC" if until else ""
    return Dep(
        "Deferred",
        f"Deferred on trigger {trigger.classpath} (id {trigger.id}) since "
        f"{trigger.created_date:%Y-%m-%d %H:%M:%S} UTC, {runner}{limit}.",
    )
