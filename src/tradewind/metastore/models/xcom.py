"""XComs: small values tasks hand to each other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base
from tradewind.metastore.models.taskinstance import NO_MAP_INDEX
from tradewind.metastore.types import BigId, UtcDateTime, utcnow

RETURN_VALUE_KEY = "return_value"


class XCom(Base):
    """One value pushed by one task instance under ``key``.

    Rows point at their DAG run by its surrogate id: a unique key spelled out as
    (dag_id, run_id, task_id, map_index, key) would exceed MySQL's 3072-byte index limit.
    ``dag_id`` and ``run_id`` are kept too, for reading without a join.
    """

    __tablename__ = "xcom"
    __table_args__ = (
        UniqueConstraint("dag_run_id", "task_id", "map_index", "key"),
        Index("ix_xcom_timestamp", "timestamp"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dag_run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("dag_run.id", ondelete="CASCADE"), nullable=False
    )
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    map_index: Mapped[int] = mapped_column(Integer, nullable=False, default=NO_MAP_INDEX)
    key: Mapped[str] = mapped_column(String(512), nullable=False, default=RETURN_VALUE_KEY)
    # A pushed None is stored as JSON null, distinct from "no row".
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    # When the value holds a secret the pushing try used: the value with it masked, which is
    # what the UI and the API show (tasks pulling the XCom get ``value``). NULL otherwise.
    masked_value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
