"""The end of a try: the guarded write of its end state and its copy in the history, one
try at a time or, for a batch of reports, with the rows read and the history copied once for
the batch (see :mod:`tradewind.scheduler.events`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import TaskInstance, TaskInstanceHistory
from tradewind.metastore.store.tasks import (
    ACTIVE,
    HISTORY_COLUMNS,
    MAX_MAP_NAME,
    MAX_REASON,
    TO_HISTORY,
)
from tradewind.metastore.store.tries import _TRY_COLUMNS, _TRY_KEY, TryRow, _key_params
from tradewind.metastore.types import UtcDateTime
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

_TI: Table = TaskInstance.__table__  # type: ignore[assignment]
_HISTORY: Table = TaskInstanceHistory.__table__  # type: ignore[assignment]
# Keys per statement when reading or copying a batch (well under every database's limit of
# bound parameters).
_CHUNK = 500


_RESCHEDULING = bindparam("v_state") == TaskState.UP_FOR_RESCHEDULE.value
_MARK_FINISHED = (
    update(_TI)
    # The states spelled out (not IN): the statement also runs as one executemany.
    .where(_TI.c.id == bindparam("k_id"), or_(*(_TI.c.state == state for state in ACTIVE)))
    .values(
        state=bindparam("v_state"),
        start_date=bindparam("v_start", type_=UtcDateTime()),
        end_date=bindparam("v_end", type_=UtcDateTime()),
        duration=bindparam("v_duration"),
        next_try_at=bindparam("v_next", type_=UtcDateTime()),
        updated_at=bindparam("v_end", type_=UtcDateTime()),
        pid=func.coalesce(bindparam("v_pid"), _TI.c.pid),
        hostname=func.coalesce(bindparam("v_hostname"), _TI.c.hostname),
        failure_reason=bindparam("v_reason"),
        rendered_map_index=func.coalesce(bindparam("v_map_name"), _TI.c.rendered_map_index),
        # Where a deferred try was to resume is over with the try (a reschedule keeps it).
        next_method=case((_RESCHEDULING, _TI.c.next_method), else_=None),
        next_kwargs=case((_RESCHEDULING, _TI.c.next_kwargs), else_=None),
    )
)


@dataclass
class Batch:
    """The ends of a batch of tries, written with few statements: their rows read with one
    query (:meth:`read`), their history rows copied with one statement after the batch and,
    where nothing else can write meanwhile (SQLite, whose pass holds the write lock from its
    start), their ends written with one executemany (:meth:`write`). Nothing in between
    may read those rows."""

    rows: dict[TaskKey, Any]
    history: list[int]
    writes: list[dict[str, Any]] | None  # None: each end is written as it comes

    @classmethod
    def read(cls, session: Session, keys: Collection[TaskKey]) -> Batch:
        one_writer = session.get_bind().dialect.name == "sqlite"
        return cls(active_tries(session, keys), [], [] if one_writer else None)

    def write(self, session: Session) -> None:
        write_batch(session, self.writes or [])
        copy_to_history(session, self.history)
        self.history, self.writes = [], None if self.writes is None else []


@dataclass(frozen=True)
class FinishedTry(TryRow):
    """The row of a try that just finished, as the scheduler needs it afterwards (the
    scheduler's telemetry too: it need not read the row again)."""

    start_date: datetime | None
    queued: datetime | None = None
    hostname: str | None = None
    pid: int | None = None
    pool: str = ""
    queue: str = ""
    priority_weight: int = 0

    @classmethod
    def of(cls, row: Any, start: datetime, hostname: str | None, pid: int | None) -> FinishedTry:
        """From a row of :data:`_ROW_COLUMNS`, as the end of the try wrote it."""
        return cls(
            row.id,
            row.dag_id,
            row.run_id,
            row.task_id,
            row.map_index,
            row.try_number,
            start_date=start,
            queued=row.queued_dttm,
            hostname=hostname,
            pid=pid,
            pool=row.pool,
            queue=row.queue,
            priority_weight=row.priority_weight,
        )


# The columns of a try's row read before its end is written.
_ROW_COLUMNS = (
    *_TRY_COLUMNS,
    _TI.c.start_date,
    _TI.c.queued_dttm,
    _TI.c.hostname,
    _TI.c.pid,
    _TI.c.pool,
    _TI.c.queue,
    _TI.c.priority_weight,
)
_ACTIVE_TRY_ROW = select(*_ROW_COLUMNS).where(_TRY_KEY, _TI.c.state.in_(ACTIVE))


def mark_finished(
    session: Session,
    key: TaskKey,
    state: TaskState,
    *,
    now: datetime,
    next_try_at: datetime | None = None,
    running: tuple[datetime, int | None, str | None] | None = None,
    reason: str | None = None,
    map_name: str | None = None,
    batch: Batch | None = None,
) -> FinishedTry | None:
    """queued|running -> a finished (or waiting) state for exactly this try; None if too late.

    ``running`` is the try's running report (when, pid, host) if it came in the same batch:
    both are then recorded by this one UPDATE. ``reason`` is why the try failed, if it did;
    ``map_name`` a mapped instance's rendered map_index_template, if the try rendered it.
    In a :class:`Batch`, the row comes from its read and goes on to its write.
    """
    if batch is not None:
        row = batch.rows.pop(key, None)  # a second report of the same end finds none: late
    else:
        row = session.execute(_ACTIVE_TRY_ROW, _key_params(key)).first()
    if row is None:
        return None
    started_at, pid, hostname = running or (None, None, None)
    started = row.start_date or started_at or now
    params = {
        "k_id": row.id,
        "v_state": state.value,
        "v_start": started,
        "v_end": now,
        "v_duration": (now - started).total_seconds(),
        "v_next": next_try_at,
        "v_pid": pid,
        "v_hostname": hostname,
        "v_reason": reason[:MAX_REASON] if reason else None,
        "v_map_name": map_name[:MAX_MAP_NAME] if map_name else None,
    }
    if batch is not None and batch.writes is not None:
        batch.writes.append(params)
    elif not session.execute(_MARK_FINISHED, params).rowcount:  # type: ignore[attr-defined]
        return None
    if state is not TaskState.UP_FOR_RESCHEDULE:
        if batch is not None:
            batch.history.append(row.id)
        else:
            session.execute(TO_HISTORY, {"k_id": row.id})
    return FinishedTry.of(row, started, hostname or row.hostname, pid or row.pid)


_ACTIVE_ROWS = select(*_ROW_COLUMNS).where(
    _TI.c.dag_id.in_(bindparam("dag_ids", expanding=True)),
    _TI.c.run_id.in_(bindparam("run_ids", expanding=True)),
    _TI.c.task_id.in_(bindparam("task_ids", expanding=True)),
    _TI.c.state.in_(ACTIVE),
)


def active_tries(session: Session, keys: Collection[TaskKey]) -> dict[TaskKey, Any]:
    """The rows of these tries that are queued or running (for :func:`mark_finished`), read
    with one query per few hundred keys instead of one per try."""
    found: dict[TaskKey, Any] = {}
    ordered = sorted(set(keys), key=lambda k: (k.dag_id, k.run_id, k.task_id))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        wanted = set(chunk)
        params = {
            "dag_ids": sorted({k.dag_id for k in chunk}),
            "run_ids": sorted({k.run_id for k in chunk}),
            "task_ids": sorted({k.task_id for k in chunk}),
        }
        for row in session.execute(_ACTIVE_ROWS, params):
            key = TaskKey(row.dag_id, row.run_id, row.task_id, row.map_index, row.try_number)
            if key in wanted:
                found[key] = row
    return found


_TO_HISTORY_MANY = insert(_HISTORY).from_select(
    list(HISTORY_COLUMNS),
    select(*(_TI.c[c] for c in HISTORY_COLUMNS)).where(
        _TI.c.id.in_(bindparam("k_ids", expanding=True))
    ),
)


class LostWrite(RuntimeError):
    """A batched end was not written: the row changed while the write lock was held."""


def write_batch(session: Session, writes: list[dict[str, Any]]) -> None:
    """The batch's ends (mark_finished's ``writes``), one statement run for all of them."""
    if not writes:
        return
    written: int = session.execute(_MARK_FINISHED, writes).rowcount  # type: ignore[attr-defined]
    if written != len(writes):
        raise LostWrite(f"{len(writes) - written} of {len(writes)} ends of tries not written")


def copy_to_history(session: Session, ids: list[int]) -> None:
    """The history rows of these finished tries (their ids, from mark_finished's
    ``history``), a statement per few hundred."""
    for start in range(0, len(ids), _CHUNK):
        session.execute(_TO_HISTORY_MANY, {"k_ids": ids[start : start + _CHUNK]})
