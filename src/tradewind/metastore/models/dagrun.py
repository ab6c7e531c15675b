"""DAG runs: one row per run of a DAG, scheduled, manual or backfill."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import (
    ID_LENGTH,
    Base,
    created_at_column,
    updated_at_column,
)
from tradewind.metastore.types import BigId, UtcDateTime
from tradewind.states import DagRunState


class DagRun(Base):
    """One run of a DAG; it keeps the serialized DAG version it was created with."""

    __tablename__ = "dag_run"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id"),
        Index("ix_dag_run_dag_id_logical_date", "dag_id", "logical_date"),
        Index("ix_dag_run_state_dag_id", "state", "dag_id"),
        Index("ix_dag_run_logical_date", "logical_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), nullable=False
    )
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    logical_date: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    data_interval_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    data_interval_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    run_type: Mapped[str] = mapped_column(String(50), nullable=False)
    state: Mapped[str] = mapped_column(String(50), nullable=False, default=DagRunState.QUEUED.value)
    conf: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    external_trigger: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    serialized_dag_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("serialized_dag.id", ondelete="SET NULL"), index=True
    )
    last_scheduling_decision: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
