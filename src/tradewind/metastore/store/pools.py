"""Queries about pools (named limits on how many tries run at once)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tradewind.exceptions import TradewindError
from tradewind.metastore.models import DEFAULT_POOL, Pool, TaskInstance
from tradewind.states import TaskState


class PoolError(TradewindError):
    """A pool cannot be changed as asked."""


def set_pool(
    session: Session,
    name: str,
    slots: int,
    description: str | None,
    *,
    include_deferred: bool | None = None,
) -> Pool:
    """Create or change a pool; ``include_deferred``: whether deferred tries take its slots
    (None: as it was, False for a new pool)."""
    if slots < 0:
        raise PoolError("a pool needs zero or more slots")
    pool = session.scalar(select(Pool).where(Pool.pool == name))
    if pool is None:
        pool = Pool(
            pool=name,
            slots=slots,
            description=description or "",
            include_deferred=bool(include_deferred),
        )
        session.add(pool)
    else:
        pool.slots = slots
        if description is not None:
            pool.description = description
        if include_deferred is not None:
            pool.include_deferred = include_deferred
    session.flush()
    return pool


def get_pool(session: Session, name: str) -> Pool | None:
    return session.scalar(select(Pool).where(Pool.pool == name))


def list_pools(session: Session) -> list[Pool]:
    return list(session.scalars(select(Pool).order_by(Pool.pool)).all())


def delete_pool(session: Session, name: str) -> bool:
    if name == DEFAULT_POOL:
        raise PoolError(f"{DEFAULT_POOL} cannot be deleted")
    result = session.execute(delete(Pool).where(Pool.pool == name))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def usage(session: Session) -> dict[str, dict[str, int]]:
    """Slots of tries per pool and state (queued, running, deferred)."""
    taking = [TaskState.QUEUED.value, TaskState.RUNNING.value, TaskState.DEFERRED.value]
    rows = session.execute(
        select(TaskInstance.pool, TaskInstance.state, func.sum(TaskInstance.pool_slots))
        .where(TaskInstance.state.in_(taking))
        .group_by(TaskInstance.pool, TaskInstance.state)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for pool, state, slots in rows:
        out.setdefault(pool, {})[str(state)] = int(slots or 0)
    return out
