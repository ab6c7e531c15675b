"""Triggers: what deferred task instances wait on, run by a triggerer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import Base
from tradewind.metastore.types import BigId, UtcDateTime, utcnow


class Trigger(Base):
    """One trigger: its class and its arguments (as ``BaseTrigger.serialize`` gives them,
    encoded to JSON), and the triggerer that runs it (a job id; None: none yet)."""

    __tablename__ = "trigger"
    __table_args__ = (Index("ix_trigger_triggerer_id", "triggerer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    classpath: Mapped[str] = mapped_column(String(1000), nullable=False)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
    triggerer_id: Mapped[int | None] = mapped_column(Integer)
