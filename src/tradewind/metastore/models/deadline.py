"""Missed deadlines: one row per deadline alert of a DAG run that was not finished in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base
from tradewind.metastore.types import BigId, UtcDateTime


class Deadline(Base):
    """A deadline alert (``alert_index`` in the DAG's ``deadline`` list) a run missed; the row is
    written once, before its callback is started, so the callback fires once."""

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("dag_run_id", "alert_index"),
        Index("ix_deadline_dag_id_missed_at", "dag_id", "missed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dag_run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("dag_run.id", ondelete="CASCADE"), nullable=False
    )
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    alert_index: Mapped[int] = mapped_column(Integer, nullable=False)
    reference: Mapped[str] = mapped_column(String(50), nullable=False)
    interval_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    deadline_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    missed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    callback: Mapped[str] = mapped_column(String(1000), nullable=False)
    # "started": its process started; "not started": it could not be (logged by the scheduler).
    callback_state: Mapped[str] = mapped_column(String(20), nullable=False)
