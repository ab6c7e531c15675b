"""Rendered template fields: the values a task instance's latest try rendered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base, updated_at_column
from tradewind.metastore.models.taskinstance import NO_MAP_INDEX

_KEY = ("dag_id", "run_id", "task_id", "map_index")


class RenderedTaskInstanceFields(Base):
    """One row per task instance: ``{template field: rendered value}`` of its latest try.

    Each try that renders its templates overwrites the row. Values are JSON, masked and
    size-capped by the task runner before they leave the try. Deleting the task instance
    (or its run, or its DAG) deletes the row.
    """

    __tablename__ = "rendered_task_instance_fields"
    __table_args__ = (
        ForeignKeyConstraint(
            _KEY,
            [f"task_instance.{column}" for column in _KEY],
            ondelete="CASCADE",
            # The conventional name would pass PostgreSQL's and MySQL's identifier limits.
            name="fk_rendered_task_instance_fields_task_instance",
        ),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True, default=NO_MAP_INDEX)
    try_number: Mapped[int] = mapped_column(Integer, nullable=False)
    rendered_fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = updated_at_column()
