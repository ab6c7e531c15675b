"""Failed logins counted per user name and per client address, shared by every web server
process through the metastore (see :class:`tradewind.metastore.models.LoginThrottle`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.metastore.models import ID_LENGTH, LoginThrottle

USER = "user"
ADDRESS = "address"
_COLUMNS = (
    LoginThrottle.failures,
    LoginThrottle.window_start,
    LoginThrottle.lockouts,
    LoginThrottle.locked_until,
    LoginThrottle.expires_at,
)


@dataclass(frozen=True)
class Limit:
    """After ``max_failures`` failures within ``window``, a lockout of ``lockout``, doubled
    with each further lockout up to ``lockout_max``. ``max_failures`` 0: no limit."""

    max_failures: int
    window: timedelta
    lockout: timedelta
    lockout_max: timedelta


@dataclass(frozen=True)
class Count:
    """The state of one key (a row of login_throttle)."""

    failures: int
    window_start: datetime
    lockouts: int
    locked_until: datetime | None
    expires_at: datetime


def key_of(value: str) -> str:
    return value[:ID_LENGTH]


def after_failure(count: Count | None, now: datetime, limit: Limit) -> Count:
    """``count`` with one more failure at ``now``: a lockout when it reaches the limit."""
    if count is None or count.expires_at <= now:
        count = Count(0, now, 0, None, now)
    elif count.window_start + limit.window <= now:
        count = replace(count, failures=0, window_start=now)
    failures = count.failures + 1
    lockouts, locked_until, window_start = count.lockouts, count.locked_until, count.window_start
    if limit.max_failures and failures >= limit.max_failures:
        lockouts += 1
        locked_until = now + min(limit.lockout * 2 ** min(lockouts - 1, 30), limit.lockout_max)
        failures, window_start = 0, now
    # Quiet for a whole window after the last window began and the last lockout ended: over.
    expires_at = max(window_start, locked_until or window_start) + limit.window
    return Count(failures, window_start, lockouts, locked_until, expires_at)


def counts(
    session: Session, keys: Sequence[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], Count]:
    """The live counts of ``keys`` ((scope, key) pairs) that have one."""
    wanted = [(scope, key_of(key)) for scope, key in keys]
    rows = session.execute(
        select(LoginThrottle.scope, LoginThrottle.key, *_COLUMNS).where(
            tuple_(LoginThrottle.scope, LoginThrottle.key).in_(wanted),
            LoginThrottle.expires_at > now,
        )
    )
    return {(row[0], row[1]): Count(*row[2:]) for row in rows}


def count_failure(session: Session, scope: str, key: str, now: datetime, limit: Limit) -> Count:
    """Add a failure to ``key``'s count (row-locked against other web server processes)."""
    key = key_of(key)
    where = (LoginThrottle.scope == scope, LoginThrottle.key == key)
    for _ in range(2):
        row = session.execute(select(*_COLUMNS).where(*where).with_for_update()).first()
        new = after_failure(Count(*row) if row is not None else None, now, limit)
        values = {
            "failures": new.failures,
            "window_start": new.window_start,
            "lockouts": new.lockouts,
            "locked_until": new.locked_until,
            "expires_at": new.expires_at,
        }
        if row is not None:
            session.execute(update(LoginThrottle).where(*where).values(**values))
            return new
        try:
            with session.begin_nested():
                session.execute(insert(LoginThrottle).values(scope=scope, key=key, **values))
            return new
        except IntegrityError:
            continue  # another process counted this key's first failure: count on its row
    raise RuntimeError(f"cannot count a failed login of {scope} {key!r}")


def forget(session: Session, scope: str, key: str) -> None:
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key_of(key))
    )


def prune(session: Session, now: datetime) -> None:
    """Delete the counts that are over."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.expires_at <= now))
