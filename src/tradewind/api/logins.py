"""Logins with a password (basic auth, ``POST /auth/token``, the UI's login form) and what
guards them against guessing.

- Failed logins are counted per user name and per client address in the metastore, so every
  web server process sees them; past ``webserver.login_max_failures`` (per user) or
  ``login_max_failures_per_address`` within the window, logins are refused with 429 and
  ``Retry-After`` for a lockout that grows with each one. A success ends its user's count.
- Every failed login is audited ("login.failed": the user name tried, the address, the door,
  the reason; never the password).
- A user name that does not exist is checked against a dummy hash, so it costs the same scrypt
  work as a real one and the answer's timing tells no user names.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind import passwords
from tradewind.api.errors import ApiError
from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import User
from tradewind.metastore.store import audit as audit_store
from tradewind.metastore.store import logins as login_store
from tradewind.metastore.types import utcnow

if TYPE_CHECKING:
    from tradewind.api.deps import WebState

WRONG = "wrong username or password"
FAILED_EVENT = "login.failed"


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    active: bool
    password_hash: str
    token_stamp: str
    session_stamp: str


def find_account(session: Session, username: str) -> Account | None:
    row = session.execute(
        select(
            User.username,
            User.role,
            User.active,
            User.password_hash,
            User.token_stamp,
            User.session_stamp,
        ).where(User.username == username)
    ).first()
    return Account(*row) if row is not None else None


def same_stamp(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy uvicorn trusts, the one it forwarded for)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class _Attempt:
    username: str
    address: str
    via: str

    def throttle_keys(self) -> list[tuple[str, str]]:
        return [(login_store.USER, self.username), (login_store.ADDRESS, self.address)]


def authenticate(
    request: Request,
    session: Session,
    web: WebState,
    *,
    username: str,
    password: str,
    via: str,
    challenge: dict[str, str] | None = None,
) -> Account:
    """The active account that ``username`` and ``password`` name.

    A 429 while the user name or the caller's address is locked out (the password is not even
    checked), else a 401 for a wrong password, an unknown or a deactivated user. ``via`` names
    the door in the audit log: "basic", "token" or "form".
    """
    attempt = _Attempt(username, client_address(request), via)
    now = utcnow()
    found = login_store.counts(session, attempt.throttle_keys(), now)
    locks = [c.locked_until for c in found.values() if c.locked_until and c.locked_until > now]
    if locks:
        wait = max(1, math.ceil((max(locks) - now).total_seconds()))
        _failed(web, session, attempt, "locked out", count=False)
        raise ApiError(
            429,
            f"too many failed logins; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    account = find_account(session, username)
    stored = account.password_hash if account is not None else passwords.dummy_hash()
    if not web.passwords.verify(username, password, stored) or account is None:
        _failed(web, session, attempt, WRONG)
        raise ApiError(401, WRONG, headers=challenge)
    if not account.active:
        _failed(web, session, attempt, "deactivated")
        raise ApiError(401, f"user {username!r} is deactivated", headers=challenge)
    if (login_store.USER, login_store.key_of(username)) in found:
        _write(web, session, lambda w: login_store.forget(w, login_store.USER, username))
    return account


def _limits(web: WebState) -> dict[str, login_store.Limit]:
    settings = web.settings.webserver
    window = timedelta(seconds=settings.login_failure_window_seconds)
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    longest = timedelta(seconds=settings.login_lockout_max_seconds)
    return {
        login_store.USER: login_store.Limit(settings.login_max_failures, window, lockout, longest),
        login_store.ADDRESS: login_store.Limit(
            settings.login_max_failures_per_address, window, lockout, longest
        ),
    }


def _failed(
    web: WebState, session: Session, attempt: _Attempt, reason: str, *, count: bool = True
) -> None:
    """Audit a failed login and (unless it was refused unchecked) count it."""
    now = utcnow()
    limits = _limits(web)

    def record(writes: Session) -> None:
        if count:
            login_store.prune(writes, now)
            for scope, key in attempt.throttle_keys():
                login_store.count_failure(writes, scope, key, now, limits[scope])
        audit_store.record(
            writes,
            event=FAILED_EVENT,
            owner=attempt.username[:250],
            now=now,
            extra={"via": attempt.via, "address": attempt.address, "reason": reason},
        )

    _write(web, session, record)


def _write(web: WebState, session: Session, change: Callable[[Session], None]) -> None:
    """Apply ``change`` in a transaction of its own, committed whatever the request does.

    The request's transaction is ended first: on SQLite it may hold the write lock (or a read
    snapshot that cannot become a writer), which this one would wait for in vain. Web server
    processes counting the first failures of one key at once may deadlock on MySQL (its
    duplicate-key check takes a shared lock): the server rolls one back, and it runs again.
    """
    session.rollback()
    engine_module.write(web.writes, change)
