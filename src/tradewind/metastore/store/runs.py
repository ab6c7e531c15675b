"""Queries about DAG runs: create them, claim them for scheduling, finish them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from tradewind.exceptions import TradewindError
from tradewind.metastore.models import (
    DagModel,
    DagRun,
    SerializedDagModel,
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
    TaskTryClaim,
    XCom,
)
from tradewind.metastore.notify import notify
from tradewind.metastore.types import UtcDateTime
from tradewind.states import DagRunState, DagRunType

T = TypeVar("T")

ACTIVE_RUN_STATES = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)


class RunExists(TradewindError):
    """A run with that run_id already exists for the DAG."""


def lock_skip(session: Session, query: Select[T]) -> Select[T]:
    """Row locks that other schedulers skip; SQLite has one scheduler (a lease) and no row locks."""
    if session.get_bind().dialect.name == "sqlite":
        return query
    return query.with_for_update(skip_locked=True)


class _Locking:
    """A query built once, with and without skip-locked row locks (see :func:`lock_skip`)."""

    def __init__(self, query: Select[Any]) -> None:
        self.plain = query
        self.locked = query.with_for_update(skip_locked=True)

    def get(self, session: Session) -> Select[Any]:
        return self.plain if session.get_bind().dialect.name == "sqlite" else self.locked


def run_id_for(run_type: DagRunType, logical_date: datetime) -> str:
    return f"{run_type.value}__{logical_date.isoformat()}"


def create_dag_run(
    session: Session,
    *,
    dag_id: str,
    run_id: str,
    logical_date: datetime,
    data_interval: tuple[datetime, datetime] | None,
    run_type: DagRunType,
    conf: dict[str, Any] | None,
    now: datetime,
    external_trigger: bool = False,
    note: str | None = None,
) -> DagRun:
    """A new queued run of the newest version of the DAG; RunExists if the run_id is taken."""
    version = session.scalar(
        select(SerializedDagModel.id)
        .where(SerializedDagModel.dag_id == dag_id)
        .order_by(SerializedDagModel.version.desc())
        .limit(1)
    )
    run = DagRun(
        dag_id=dag_id,
        run_id=run_id,
        logical_date=logical_date,
        data_interval_start=data_interval[0] if data_interval else None,
        data_interval_end=data_interval[1] if data_interval else None,
        run_type=run_type.value,
        state=DagRunState.QUEUED.value,
        conf=conf,
        queued_at=now,
        external_trigger=external_trigger,
        note=note,
        serialized_dag_id=version,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        raise RunExists(f"DAG {dag_id!r} already has a run {run_id!r}") from None
    notify(session)
    return run


@dataclass(frozen=True)
class NewRun:
    """A run to create in bulk (see :func:`create_runs`)."""

    dag_id: str
    serialized_dag_id: int
    data_interval: tuple[datetime, datetime] | None = None


def create_runs(
    session: Session, new: Sequence[NewRun], *, run_type: DagRunType, now: datetime
) -> dict[str, int]:
    """Queued runs, one per DAG, all with the logical date ``now``, in one statement; the
    primary key of each by DAG id. IntegrityError if a DAG has a run with that run_id."""
    if not new:
        return {}
    run_id = run_id_for(run_type, now)
    session.execute(
        insert(_DR),
        [
            {
                "dag_id": n.dag_id,
                "run_id": run_id,
                "logical_date": now,
                "data_interval_start": n.data_interval[0] if n.data_interval else None,
                "data_interval_end": n.data_interval[1] if n.data_interval else None,
                "run_type": run_type.value,
                "state": DagRunState.QUEUED.value,
                "queued_at": now,
                "external_trigger": False,
                "serialized_dag_id": n.serialized_dag_id,
                "created_at": now,
                "updated_at": now,
            }
            for n in new
        ],
    )
    rows = session.execute(
        select(_DR.c.dag_id, _DR.c.id).where(
            _DR.c.run_id == run_id, _DR.c.dag_id.in_([n.dag_id for n in new])
        )
    ).all()
    notify(session)
    return {str(row[0]): int(row[1]) for row in rows}


def dags_due(session: Session, now: datetime, limit: int) -> list[DagModel]:
    """Unpaused, active DAGs whose next scheduled run may be created now (locked, skip-locked)."""
    query = _DAGS_DUE.get(session)
    return list(session.scalars(query, {"now": now, "limit": limit}).all())


# The scheduler runs these every pass: built once (building costs more than running them).
_SCHEDULABLE = and_(DagModel.is_active.is_(True), DagModel.is_paused.is_(False))
_DAGS_DUE = _Locking(
    select(DagModel)
    .where(_SCHEDULABLE, DagModel.next_dagrun_create_after <= bindparam("now"))
    .order_by(DagModel.next_dagrun_create_after)
    .limit(bindparam("limit"))
)
_NEXT_DUE = select(func.min(DagModel.next_dagrun_create_after)).where(_SCHEDULABLE)


def next_due_time(session: Session) -> datetime | None:
    return session.scalar(_NEXT_DUE)


def active_run_counts(session: Session, dag_ids: Sequence[str]) -> dict[str, int]:
    if not dag_ids:
        return {}
    rows = session.execute(
        select(DagRun.dag_id, func.count())
        .where(DagRun.dag_id.in_(list(dag_ids)), DagRun.state == DagRunState.RUNNING.value)
        .group_by(DagRun.dag_id)
    ).all()
    return dict(rows)


def queued_runs(session: Session, limit: int) -> list[DagRun]:
    """Queued runs of unpaused DAGs, oldest first, locked for this scheduler."""
    return list(session.scalars(_QUEUED_RUNS.get(session), {"limit": limit}).all())


_QUEUED_RUNS = _Locking(
    select(DagRun)
    .join(DagModel, DagModel.dag_id == DagRun.dag_id)
    .where(DagRun.state == DagRunState.QUEUED.value, DagModel.is_paused.is_(False))
    .order_by(DagRun.logical_date, DagRun.id)
    .limit(bindparam("limit"))
)
_NEEDING_DECISION = _Locking(
    select(DagRun)
    .where(
        DagRun.state == DagRunState.RUNNING.value,
        DagRun.last_scheduling_decision.is_(None),
    )
    .order_by(DagRun.id)
    .limit(bindparam("limit"))
)


def runs_needing_decision(session: Session, limit: int) -> list[DagRun]:
    """Running runs that something changed in since the scheduler last looked."""
    return list(session.scalars(_NEEDING_DECISION.get(session), {"limit": limit}).all())


def running_runs(session: Session) -> list[DagRun]:
    return list(
        session.scalars(select(DagRun).where(DagRun.state == DagRunState.RUNNING.value)).all()
    )


def request_decision(session: Session, run_ids: Sequence[int]) -> None:
    """Ask the scheduler to look at these runs again (after a clear, a mark, a trigger)."""
    if run_ids:
        session.execute(
            update(DagRun).where(DagRun.id.in_(list(run_ids))).values(last_scheduling_decision=None)
        )
        notify(session)


_DR: Table = DagRun.__table__  # type: ignore[assignment]
_MARK_DECIDED = (
    update(_DR)
    .where(_DR.c.id == bindparam("k_id"))
    .values(last_scheduling_decision=bindparam("now", type_=UtcDateTime()))
)


def mark_decided(session: Session, run_id: int, now: datetime) -> None:
    session.execute(_MARK_DECIDED, {"k_id": run_id, "now": now})


def start_run(session: Session, run: DagRun, now: datetime) -> bool:
    """queued -> running; False when someone else moved it first. (A Core statement built
    once: an ORM update would look through the session for the row on every call.)"""
    result = session.execute(_START_RUN, {"k_id": run.id, "now": now})
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    for name, value in (("state", DagRunState.RUNNING.value), ("start_date", now)):
        set_committed_value(run, name, value)
    set_committed_value(run, "updated_at", now)
    return True


_START_RUN = (
    update(_DR)
    .where(_DR.c.id == bindparam("k_id"), _DR.c.state == DagRunState.QUEUED.value)
    .values(
        state=DagRunState.RUNNING.value,
        start_date=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)


_FINISH_RUN = (
    update(_DR)
    .where(_DR.c.id == bindparam("k_id"), _DR.c.state == DagRunState.RUNNING.value)
    .values(
        state=bindparam("v_state"),
        end_date=bindparam("now", type_=UtcDateTime()),
        updated_at=bindparam("now", type_=UtcDateTime()),
        last_scheduling_decision=bindparam("now", type_=UtcDateTime()),
    )
)


def finish_run(session: Session, run_id: int, state: DagRunState, now: datetime) -> bool:
    """running -> success | failed, once."""
    result = session.execute(_FINISH_RUN, {"k_id": run_id, "v_state": state.value, "now": now})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def serialized_data(session: Session, serialized_dag_id: int) -> dict[str, Any] | None:
    return session.scalar(
        select(SerializedDagModel.data).where(SerializedDagModel.id == serialized_dag_id)
    )


_GET_RUN = select(DagRun).where(
    DagRun.dag_id == bindparam("dag_id"), DagRun.run_id == bindparam("run_id")
)
_LOCK_RUN = _GET_RUN.with_for_update().execution_options(populate_existing=True)
_RELOAD_RUN = _GET_RUN.execution_options(populate_existing=True)


def get_run(session: Session, dag_id: str, run_id: str) -> DagRun | None:
    return session.scalar(_GET_RUN, {"dag_id": dag_id, "run_id": run_id})


def lock_run(session: Session, dag_id: str, run_id: str) -> DagRun | None:
    """The run with its row locked until commit, waiting while another scheduler holds it.

    Schedulers that settle the same run then take turns, and each sees the task states the
    other committed: without it, two tasks finishing at once under two schedulers each see
    the other still running, and nobody finishes the run.
    """
    query = _RELOAD_RUN if session.get_bind().dialect.name == "sqlite" else _LOCK_RUN
    return session.scalar(query, {"dag_id": dag_id, "run_id": run_id})


def list_runs(session: Session, dag_id: str, *, limit: int = 100) -> list[DagRun]:
    return list(
        session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id)
            .order_by(DagRun.logical_date.desc(), DagRun.id.desc())
            .limit(limit)
        ).all()
    )


def previous_run(session: Session, run: DagRun) -> DagRun | None:
    """The run of the same DAG just before this one by logical date (for depends_on_past)."""
    return session.scalar(
        select(DagRun)
        .where(DagRun.dag_id == run.dag_id, DagRun.logical_date < run.logical_date)
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    )


def previous_success(session: Session, dag_id: str, logical_date: datetime) -> DagRun | None:
    """The DAG's latest successful run before ``logical_date`` (``prev_*_success``)."""
    return session.scalar(
        select(DagRun)
        .where(
            DagRun.dag_id == dag_id,
            DagRun.logical_date < logical_date,
            DagRun.state == DagRunState.SUCCESS.value,
        )
        .order_by(DagRun.logical_date.desc())
        .limit(1)
    )


def previous_success_data(run: DagRun | None) -> dict[str, Any] | None:
    """A run's dates as a workload carries them (``previous_success`` of Workload.run)."""
    if run is None:
        return None
    return {
        "logical_date": run.logical_date.isoformat(),
        "data_interval_start": _iso(run.data_interval_start),
        "data_interval_end": _iso(run.data_interval_end),
        "start_date": _iso(run.start_date),
        "end_date": _iso(run.end_date),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def set_next_dagrun(
    session: Session,
    dag_id: str,
    *,
    logical_date: datetime | None,
    data_interval: tuple[datetime, datetime] | None,
    create_after: datetime | None,
) -> None:
    session.execute(
        update(DagModel)
        .where(DagModel.dag_id == dag_id)
        .values(
            next_dagrun=logical_date,
            next_dagrun_data_interval_start=data_interval[0] if data_interval else None,
            next_dagrun_data_interval_end=data_interval[1] if data_interval else None,
            next_dagrun_create_after=create_after,
        )
    )


def request_decision_for_later_runs(session: Session, run: DagRun) -> None:
    """Later running runs of the DAG may wait on this one (depends_on_past): look again."""
    session.execute(
        update(DagRun)
        .where(
            DagRun.dag_id == run.dag_id,
            DagRun.state == DagRunState.RUNNING.value,
            DagRun.logical_date > run.logical_date,
        )
        .values(last_scheduling_decision=None)
    )


def reopen_run(session: Session, run_id: int, now: datetime) -> None:
    """A finished run whose tasks were cleared runs again (and the scheduler looks at it)."""
    session.execute(
        update(DagRun)
        .where(DagRun.id == run_id)
        .values(
            state=DagRunState.RUNNING.value,
            end_date=None,
            last_scheduling_decision=None,
            updated_at=now,
        )
    )


# ---- the web server's reads and hand-made changes of runs ----------------------------------

# Offsets beyond any real table; larger ones would overflow the databases' integers.
MAX_OFFSET = 2**62


@dataclass(frozen=True)
class RunFilter:
    """Which runs a listing shows: of one DAG (or of ``dag_ids``, or all), in these states."""

    dag_id: str | None = None
    dag_ids: Sequence[str] = ()
    states: Sequence[str] = ()
    run_type: str | None = None


def page_runs(
    session: Session, where: RunFilter, *, limit: int, offset: int
) -> tuple[list[DagRun], int]:
    """Runs matching ``where``, newest logical date first, ``limit`` from ``offset``; and the
    number of matches."""
    query = select(DagRun)
    if where.dag_id is not None:
        query = query.where(DagRun.dag_id == where.dag_id)
    if where.dag_ids:
        query = query.where(DagRun.dag_id.in_(list(where.dag_ids)))
    if where.states:
        query = query.where(DagRun.state.in_(list(where.states)))
    if where.run_type is not None:
        query = query.where(DagRun.run_type == where.run_type)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(DagRun.logical_date.desc(), DagRun.id.desc())
        .limit(limit)
        .offset(min(offset, MAX_OFFSET))
    ).all()
    return list(rows), total


def set_run_state(session: Session, run_id: int, state: DagRunState, now: datetime) -> None:
    """Set a run's state by hand: a finished one ends now; a queued one waits to start again.

    The schedulers are told (a queued run may start, a finished one frees a run slot).
    """
    values: dict[str, Any] = {"state": state.value, "updated_at": now}
    if state is DagRunState.QUEUED:
        values.update(queued_at=now, end_date=None, last_scheduling_decision=None)
    elif state is DagRunState.RUNNING:
        values.update(end_date=None, last_scheduling_decision=None)
    else:
        values.update(
            end_date=now,
            start_date=func.coalesce(DagRun.start_date, now),
            last_scheduling_decision=now,
        )
    session.execute(
        update(DagRun)
        .where(DagRun.id == run_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    notify(session)


def delete_run(session: Session, run: DagRun) -> None:
    """Delete a run and everything recorded about its tasks (XComs, tries, reschedules)."""
    # The foreign keys cascade too; deleting explicitly does not depend on them being enforced.
    session.execute(delete(XCom).where(XCom.dag_run_id == run.id))
    for model in (TaskTryClaim, TaskReschedule, TaskInstanceHistory, TaskInstance):
        session.execute(delete(model).where(model.dag_id == run.dag_id, model.run_id == run.run_id))
    session.execute(delete(DagRun).where(DagRun.id == run.id))
    notify(session)


def set_note(session: Session, run_pk: int, note: str | None, now: datetime) -> None:
    session.execute(update(DagRun).where(DagRun.id == run_pk).values(note=note, updated_at=now))
