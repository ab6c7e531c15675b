"""Queries about users (the web server's accounts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.exceptions import TradewindError
from tradewind.metastore.models import User
from tradewind.metastore.models.auth import new_stamp

ROLES = ("admin", "op", "user", "viewer")


class UserError(TradewindError):
    """A user cannot be created or changed as asked."""


def create_user(
    session: Session,
    *,
    username: str,
    password_hash: str,
    role: str,
    email: str | None,
    now: datetime,
) -> User:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    user = User(
        username=username, password_hash=password_hash, role=role, email=email, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise UserError(f"user {username!r} exists already") from None
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)).all())


def delete_user(session: Session, username: str) -> bool:
    result = session.execute(delete(User).where(User.username == username))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def note_login(session: Session, username: str, now: datetime) -> None:
    session.execute(update(User).where(User.username == username).values(last_login=now))


def set_password(session: Session, username: str, password_hash: str) -> bool:
    """A new password; the user's tokens and sessions made before end with the old one."""
    result = session.execute(
        update(User)
        .where(User.username == username)
        .values(password_hash=password_hash, **_new_stamps())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_sessions(session: Session, username: str) -> None:
    """End every session (UI login) of the user; their API tokens stay valid."""
    session.execute(update(User).where(User.username == username).values(session_stamp=new_stamp()))


def _new_stamps() -> dict[str, str]:
    return {"token_stamp": new_stamp(), "session_stamp": new_stamp()}


def update_user(
    session: Session,
    username: str,
    *,
    role: str | None = None,
    email: str | None = None,
    clear_email: bool = False,
    active: bool | None = None,
    password_hash: str | None = None,
) -> bool:
    """Change the given fields of a user (None leaves a field as it is); False if no such user.

    A new password ends the user's tokens and sessions made before."""
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    values: dict[str, object] = {
        name: value
        for name, value in (
            ("role", role),
            ("email", email),
            ("active", active),
            ("password_hash", password_hash),
        )
        if value is not None
    }
    if clear_email:
        values["email"] = None
    if password_hash is not None:
        values.update(_new_stamps())
    exists = session.scalar(select(User.id).where(User.username == username)) is not None
    if exists and values:
        session.execute(update(User).where(User.username == username).values(**values))
    return exists
