"""Queries of the triggerer: which triggers it runs, and what a trigger's end writes.

A trigger row belongs to one triggerer (``trigger.triggerer_id``, the triggerer's job id) or to
none. A triggerer claims triggers that belong to none, or to a triggerer whose heartbeat is older
than ``triggerer.job_timeout`` (it is gone), up to its capacity; on PostgreSQL and MySQL the
claim locks the rows it takes (``FOR UPDATE SKIP LOCKED``), so two triggerers never take the same
one. When a trigger fires, every deferred task instance waiting on it goes back to scheduled
with the event in its ``next_kwargs``, the trigger row is deleted, and the schedulers are told,
in one transaction. Each write is guarded by ``state = 'deferred' AND trigger_id = <trigger>``:
a task instance cleared, marked or timed out meanwhile is left as it is.

A trigger may also watch an asset (:mod:`tradewind.metastore.store.watchers`): a triggerer runs
it while an active, unpaused DAG is scheduled on the asset, and each of its events is an update
of the asset (:func:`fire_watcher`); its row stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import AssetModel, AssetTrigger, Job, TaskInstance, Trigger
from tradewind.metastore.notify import notify
from tradewind.metastore.store import assets as asset_store
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import watchers
from tradewind.metastore.store.tasks import MAX_REASON, TO_HISTORY
from tradewind.metastore.types import UtcDateTime
from tradewind.reports import FAIL_METHOD, AssetUpdate
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

# The job type of a triggerer (the ``job`` table; /health reads its heartbeats).
TRIGGERER = "triggerer"

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_TRIGGER: Table = Trigger.__table__  # type: ignore[assignment]
_JOB: Table = Job.__table__  # type: ignore[assignment]
_LINK: Table = AssetTrigger.__table__  # type: ignore[assignment]
DEFERRED = TaskState.DEFERRED.value

_WAITED_ON = exists().where(_TI.c.trigger_id == _TRIGGER.c.id, _TI.c.state == DEFERRED)


@dataclass(frozen=True)
class TriggerRow:
    """A trigger to run: its class path and encoded arguments, and the tries waiting on it
    (or the URIs of the assets it watches)."""

    id: int
    classpath: str
    kwargs: dict[str, Any]
    waiting: list[TaskKey] = field(default_factory=list)
    watching: list[str] = field(default_factory=list)


def _alive_triggerers(now: datetime, timeout: float) -> Any:
    return select(_JOB.c.id).where(
        _JOB.c.job_type == TRIGGERER,
        _JOB.c.state == job_store.RUNNING,
        _JOB.c.latest_heartbeat >= now - timedelta(seconds=timeout),
    )


def other_alive_triggerer(session: Session, *, now: datetime, timeout: float) -> Job | None:
    """A live triggerer (one that heartbeated within ``timeout``), if there is one."""
    alive = job_store.alive_jobs(session, TRIGGERER, now=now, timeout=timeout)
    return alive[0] if alive else None


def claim(session: Session, job_id: int, *, room: int, now: datetime, timeout: float) -> list[int]:
    """Take up to ``room`` triggers that belong to no live triggerer; their ids.

    ``SELECT id FROM trigger WHERE (triggerer_id IS NULL OR triggerer_id NOT IN (<live
    triggerer jobs>)) ORDER BY id LIMIT room [FOR UPDATE SKIP LOCKED]``, then ``UPDATE trigger
    SET triggerer_id = job_id WHERE id IN (...) AND <the same condition>``.
    """
    if room <= 0:
        return []
    orphaned = or_(
        _TRIGGER.c.triggerer_id.is_(None),
        _TRIGGER.c.triggerer_id.not_in(_alive_triggerers(now, timeout)),
    )
    query = select(_TRIGGER.c.id).where(orphaned).order_by(_TRIGGER.c.id).limit(room)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query).all())
    if not ids:
        return []
    session.execute(
        update(_TRIGGER).where(_TRIGGER.c.id.in_(ids), orphaned).values(triggerer_id=job_id)
    )
    return ids


_ASSIGNED = select(_TRIGGER.c.id).where(
    _TRIGGER.c.triggerer_id == bindparam("job_id"), or_(_WAITED_ON, watchers.RUNNABLE)
)


def assigned(session: Session, job_id: int) -> set[int]:
    """The triggers this triggerer should run now: its own that a deferred try waits on, or
    that watch an asset an active, unpaused DAG is scheduled on."""
    return set(session.scalars(_ASSIGNED, {"job_id": job_id}).all())


def load(session: Session, ids: Iterable[int]) -> list[TriggerRow]:
    """The triggers ``ids`` with the deferred tries waiting on each."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = session.execute(
        select(_TRIGGER.c.id, _TRIGGER.c.classpath, _TRIGGER.c.kwargs).where(
            _TRIGGER.c.id.in_(wanted)
        )
    ).all()
    found = {row.id: TriggerRow(row.id, row.classpath, dict(row.kwargs or {})) for row in rows}
    for ti in session.execute(
        select(
            _TI.c.trigger_id,
            _TI.c.dag_id,
            _TI.c.run_id,
            _TI.c.task_id,
            _TI.c.map_index,
            _TI.c.try_number,
        ).where(_TI.c.trigger_id.in_(wanted), _TI.c.state == DEFERRED)
    ).all():
        if ti.trigger_id in found:
            found[ti.trigger_id].waiting.append(TaskKey(*ti[1:]))
    for trigger_id, uri in session.execute(
        select(_LINK.c.trigger_id, AssetModel.uri)
        .join(AssetModel, AssetModel.id == _LINK.c.asset_id)
        .where(_LINK.c.trigger_id.in_(wanted))
        .order_by(AssetModel.uri)
    ).all():
        found[trigger_id].watching.append(uri)
    return [found[i] for i in wanted if i in found]


_WAITING = select(_TI.c.id, _TI.c.next_kwargs).where(
    _TI.c.trigger_id == bindparam("k_trigger"), _TI.c.state == DEFERRED
)
_GUARD = (
    _TI.c.id == bindparam("k_id"),
    _TI.c.state == DEFERRED,
    _TI.c.trigger_id == bindparam("k_trigger"),
)
_RESUME_VALUES: dict[str, Any] = {
    "state": TaskState.SCHEDULED.value,
    "trigger_id": None,
    "next_kwargs": bindparam("v_kwargs"),
    "scheduled_dttm": bindparam("now", type_=UtcDateTime()),
    "updated_at": bindparam("now", type_=UtcDateTime()),
}
# next_method stays: the try resumes in the method it deferred to.
_RESUME = update(_TI).where(*_GUARD).values(**_RESUME_VALUES)
_FAIL = update(_TI).where(*_GUARD).values(**_RESUME_VALUES, next_method=FAIL_METHOD)


def fire(session: Session, trigger_id: int, event: Any, *, now: datetime) -> int:
    """The trigger fired with ``event`` (its encoded payload): each deferred try waiting on it
    goes back to scheduled with ``next_kwargs = {**its method kwargs, "event": event}``; the
    trigger row is deleted; the schedulers are told. Returns how many tries it resumed."""
    resumed = 0
    for ti_id, kwargs in session.execute(_WAITING, {"k_trigger": trigger_id}).all():
        params = {
            "k_id": ti_id,
            "k_trigger": trigger_id,
            "v_kwargs": {**(kwargs or {}), "event": event},
            "now": now,
        }
        resumed += session.execute(_RESUME, params).rowcount  # type: ignore[attr-defined]
    _finish(session, trigger_id, resumed)
    return resumed


def fail(
    session: Session, trigger_id: int, error: str, *, now: datetime, timeout: bool = False
) -> int:
    """The trigger raised (or could not be built, or ended without an event, or ``timeout``:
    did not fire in time): each deferred try waiting on it goes back to scheduled with
    ``next_method = "__fail__"`` and ``next_kwargs = {"error": error}`` (and ``"timeout":
    true``), so that it fails with that error; the trigger row is deleted; the schedulers are
    told. Returns how many tries it failed."""
    failed = 0
    for ti_id, _ in session.execute(_WAITING, {"k_trigger": trigger_id}).all():
        params = {
            "k_id": ti_id,
            "k_trigger": trigger_id,
            "v_kwargs": {"error": error[:MAX_REASON], **({"timeout": True} if timeout else {})},
            "now": now,
        }
        failed += session.execute(_FAIL, params).rowcount  # type: ignore[attr-defined]
    _finish(session, trigger_id, failed)
    return failed


_WAITING_ENDS = select(_TI.c.id, _TI.c.start_date, _TI.c.dag_id, _TI.c.run_id).where(
    _TI.c.trigger_id == bindparam("k_trigger"), _TI.c.state == DEFERRED
)


def end_tasks(
    session: Session,
    trigger_id: int,
    state: TaskState,
    *,
    now: datetime,
    reason: str | None = None,
) -> int:
    """The trigger yielded a task-ending event: each deferred try waiting on it ends in
    ``state`` (success, failed or skipped) without a process, goes to the history as a
    finished try, and its run is decided again; the trigger row is deleted. Returns how many
    tries it ended."""
    ended = 0
    runs: set[tuple[str, str]] = set()
    for ti_id, started, dag_id, run_id in session.execute(
        _WAITING_ENDS, {"k_trigger": trigger_id}
    ).all():
        start = started or now
        result = session.execute(
            update(_TI)
            .where(_TI.c.id == ti_id, _TI.c.state == DEFERRED, _TI.c.trigger_id == trigger_id)
            .values(
                state=state.value,
                trigger_id=None,
                start_date=start,
                end_date=now,
                duration=max(0.0, (now - start).total_seconds()),
                updated_at=now,
                failure_reason=reason[:MAX_REASON] if reason else None,
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            ended += 1
            runs.add((dag_id, run_id))
            session.execute(TO_HISTORY, {"k_id": ti_id})
    found = (run_store.get_run(session, dag_id, run_id) for dag_id, run_id in sorted(runs))
    run_store.request_decision(session, [run.id for run in found if run is not None])
    _finish(session, trigger_id, ended)
    return ended


def _finish(session: Session, trigger_id: int, changed: int) -> None:
    session.execute(delete(_TRIGGER).where(_TRIGGER.c.id == trigger_id))
    if changed:
        notify(session)


def delete_unused(session: Session) -> int:
    """Delete the triggers no deferred try waits on (their tries were cleared, marked, timed
    out or resumed) and that watch no asset a DAG is scheduled on; how many."""
    result = session.execute(delete(_TRIGGER).where(~_WAITED_ON, ~watchers.KEPT))
    return int(result.rowcount)  # type: ignore[attr-defined]


def fire_watcher(session: Session, trigger_id: int, event: Any, *, now: datetime) -> int:
    """A watcher fired with ``event`` (its encoded payload): an event of each asset it watches,
    with ``extra = {"from_trigger": true, "payload": event}`` (as Airflow's), queued for the
    DAGs scheduled on it; the schedulers are told. The trigger row stays. Returns how many
    asset events it recorded (none if the watcher was removed meanwhile)."""
    rows = session.execute(
        select(AssetModel.uri, AssetModel.name, AssetModel.group)
        .join(_LINK, _LINK.c.asset_id == AssetModel.id)
        .where(_LINK.c.trigger_id == trigger_id)
    ).all()
    extra = {"from_trigger": True, "payload": event}
    updates = [AssetUpdate(uri, name, group, extra) for uri, name, group in rows]
    recorded = asset_store.record(session, updates, source=None, now=now)
    if recorded:
        notify(session)
    return len(recorded)


def release(session: Session, job_id: int) -> int:
    """Give this triggerer's triggers up (it stops): another triggerer takes them at once."""
    result = session.execute(
        update(_TRIGGER).where(_TRIGGER.c.triggerer_id == job_id).values(triggerer_id=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def counts(session: Session, job_ids: Sequence[int]) -> dict[int, int]:
    """How many triggers each of these triggerers holds."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(_TRIGGER.c.triggerer_id, func.count())
        .where(_TRIGGER.c.triggerer_id.in_(list(job_ids)))
        .group_by(_TRIGGER.c.triggerer_id)
    ).all()
    return {int(job): int(n) for job, n in rows}
