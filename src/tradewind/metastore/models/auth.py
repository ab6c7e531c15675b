"""Who may use the web server and the API, and what they did."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base, created_at_column
from tradewind.metastore.types import BigId, UtcDateTime, utcnow

STAMP_LENGTH = 32


def new_stamp() -> str:
    """A fresh credential stamp (see :class:`User`)."""
    return secrets.token_urlsafe(16)


class User(Base):
    """A person who logs in; ``role`` is one of admin, op, user, viewer.

    Each API token carries the ``token_stamp`` its user had when it was made, each session
    cookie the ``session_stamp``; a credential whose stamp is no longer the user's is refused.
    A new password gives both new stamps, logging out a new ``session_stamp``, and a user
    deleted and created again has new ones, so all of these end the credentials made before.
    """

    # "user" is a reserved word on PostgreSQL.
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    last_login: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Rows from before the stamps have "" (their unstamped credentials stay valid until the
    # first password change or logout).
    token_stamp: Mapped[str] = mapped_column(
        String(STAMP_LENGTH), nullable=False, default=new_stamp, server_default=""
    )
    session_stamp: Mapped[str] = mapped_column(
        String(STAMP_LENGTH), nullable=False, default=new_stamp, server_default=""
    )


class AuditLog(Base):
    """One user action (trigger, clear, mark success, edit a variable, ...)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dttm: Mapped[datetime] = mapped_column(
        UtcDateTime(), nullable=False, default=utcnow, index=True
    )
    event: Mapped[str] = mapped_column(String(60), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(500))
    dag_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    extra: Mapped[str | None] = mapped_column(Text)


class LoginThrottle(Base):
    """Failed logins of one user name (``scope`` "user") or from one client address ("address"),
    shared by every web server process.

    ``failures`` counts the failures since ``window_start``; reaching the limit locks the key
    until ``locked_until`` and counts a lockout (each one longer). A row past ``expires_at``
    means nothing any more (it is as if there were none) and is deleted.
    """

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    lockouts: Mapped[int] = mapped_column(Integer, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, index=True)
