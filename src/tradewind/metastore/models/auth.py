"""Who may use the web server and the API, and what they did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base, created_at_column
from tradewind.metastore.types import BigId, UtcDateTime, utcnow


class User(Base):
    """A person who logs in; ``role`` is one of admin, op, user, viewer."""

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
