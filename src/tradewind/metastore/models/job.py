"""Jobs: the long-running components (scheduler, DAG processor, ...) and their heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import Base
from tradewind.metastore.types import UtcDateTime, utcnow


class Job(Base):
    """One running (or finished) component process; a stale heartbeat means it is gone."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_job_type_state_latest_heartbeat", "job_type", "state", "latest_heartbeat"),
        Index("ix_job_start_date", "start_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_type: Mapped[str] = mapped_column(String(30), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    hostname: Mapped[str | None] = mapped_column(String(1000))
    pid: Mapped[int | None] = mapped_column(Integer)
    executor_class: Mapped[str | None] = mapped_column(String(500))
    start_date: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    latest_heartbeat: Mapped[datetime] = mapped_column(
        UtcDateTime(), nullable=False, default=utcnow
    )
