"""What the DAG processor records: DAGs, their serialized versions, source code, files, errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tradewind.metastore.models.base import ID_LENGTH, Base, created_at_column
from tradewind.metastore.types import LongText, UtcDateTime, utcnow

HASH_LENGTH = 64  # sha256 as hex


class DagModel(Base):
    """One DAG as last seen by the DAG processor, with its scheduling bookkeeping."""

    __tablename__ = "dag"

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    fileloc: Mapped[str] = mapped_column(Text, nullable=False)
    fileloc_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, index=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    owners: Mapped[str | None] = mapped_column(String(2000))
    schedule_description: Mapped[str | None] = mapped_column(String(1000))
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    max_active_runs: Mapped[int] = mapped_column(Integer, nullable=False, default=16)
    max_active_tasks: Mapped[int] = mapped_column(Integer, nullable=False, default=16)
    has_import_errors: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_parsed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
    next_dagrun: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_dagrun_data_interval_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_dagrun_data_interval_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_dagrun_create_after: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = created_at_column()

    tags: Mapped[list[DagTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )


class DagTag(Base):
    """A tag of a DAG (for filtering in the UI and the API)."""

    __tablename__ = "dag_tag"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)


class SerializedDagModel(Base):
    """One structural version of a DAG as JSON; the highest ``version`` is the current one."""

    __tablename__ = "serialized_dag"
    __table_args__ = (UniqueConstraint("dag_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    dag_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class DagCode(Base):
    """The source of a DAG file, shown in the UI's code view."""

    __tablename__ = "dag_code"

    fileloc_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    fileloc: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(LongText, nullable=False)
    source_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    last_updated: Mapped[datetime] = mapped_column(
        UtcDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )


class DagFile(Base):
    """What the processor knows of one DAG file, so unchanged files are never run again."""

    __tablename__ = "dag_file"

    fileloc_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    fileloc: Mapped[str] = mapped_column(Text, nullable=False)
    mtime: Mapped[float] = mapped_column(Double, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    last_parsed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
    parse_duration: Mapped[float] = mapped_column(Double, nullable=False, default=0.0)
    dag_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    is_present: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ParseImportError(Base):
    """A DAG file that failed to import, with the stack trace to show the user."""

    __tablename__ = "import_error"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(Text, nullable=False)
    fileloc_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, index=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
    stacktrace: Mapped[str] = mapped_column(LongText, nullable=False)
