"""Task instances (one task in one DAG run), their finished tries and their reschedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base, updated_at_column
from tradewind.metastore.types import BigId, UtcDateTime
from tradewind.workloads import TaskKey

DEFAULT_POOL = "default_pool"
DEFAULT_QUEUE = "default"
NO_MAP_INDEX = -1  # the map_index of a task that is not mapped


def _dag_run_fk() -> ForeignKeyConstraint:
    # Deleting a DAG run deletes everything recorded about its tasks.
    return ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_run.dag_id", "dag_run.run_id"], ondelete="CASCADE"
    )


class _TaskKey:
    """Which task instance a row is about: columns shared by the tables below."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
    map_index: Mapped[int] = mapped_column(Integer, nullable=False, default=NO_MAP_INDEX)


class _TryRecord(_TaskKey):
    """What is recorded about a try, both while it is current and once it is history."""

    # NULL is "none": not yet considered by the scheduler.
    state: Mapped[str | None] = mapped_column(String(20))
    max_tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duration: Mapped[float | None] = mapped_column(Double)
    hostname: Mapped[str | None] = mapped_column(String(1000))
    pid: Mapped[int | None] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(256), nullable=False, default=DEFAULT_POOL)
    pool_slots: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    queue: Mapped[str] = mapped_column(String(256), nullable=False, default=DEFAULT_QUEUE)
    priority_weight: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    operator: Mapped[str | None] = mapped_column(String(1000))
    queued_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime())
    scheduled_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime())
    external_executor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    # Why the try failed, in words: the task's error, or why tradewind ended it (lost,
    # timed out, could not start, its log could not be written, ...). None otherwise.
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # A mapped instance's readable name: its task's map_index_template as the try rendered it.
    rendered_map_index: Mapped[str | None] = mapped_column(String(250))
    updated_at: Mapped[datetime] = updated_at_column()


class TaskInstance(_TryRecord, Base):
    """The current state of one task (or one mapped copy of it) in one DAG run."""

    __tablename__ = "task_instance"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", "task_id", "map_index"),
        _dag_run_fk(),
        Index("ix_task_instance_state_pool", "state", "pool"),
        Index("ix_task_instance_dag_id_run_id_state", "dag_id", "run_id", "state"),
        Index("ix_task_instance_state_next_try_at", "state", "next_try_at"),
        Index("ix_task_instance_state_last_heartbeat_at", "state", "last_heartbeat_at"),
        Index("ix_task_instance_trigger_id", "trigger_id"),
        Index("ix_task_instance_state_trigger_timeout", "state", "trigger_timeout"),
        Index("ix_task_instance_start_date", "start_date"),
    )

    try_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # When an up_for_retry or up_for_reschedule instance is due to be scheduled again.
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The scheduler job that queued the try, so a dead scheduler's work can be adopted.
    queued_by_job_id: Mapped[int | None] = mapped_column(Integer)
    executor_config: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # A deferred instance: the trigger it waits on, and when it gives up waiting.
    trigger_id: Mapped[int | None] = mapped_column(BigId)
    trigger_timeout: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Where a deferred try resumes (the operator's method, ``__fail__`` to fail it) and with
    # what (its kwargs, with ``event`` once the trigger fired). None: from ``execute``.
    next_method: Mapped[str | None] = mapped_column(String(1000))
    next_kwargs: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # How many times the current try deferred: each resumption is a new delivery of the same
    # try, which a worker may claim once (see store/claims.py).
    deferrals: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    @property
    def key(self) -> TaskKey:
        """The try this row holds now."""
        return TaskKey(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)


class TaskInstanceHistory(_TryRecord, Base):
    """One finished try of a task instance, kept when the instance moves on to its next try."""

    __tablename__ = "task_instance_history"
    __table_args__ = (
        # The name the convention would give is longer than PostgreSQL's 63 characters.
        UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "try_number",
            name="uq_task_instance_history_try",
        ),
        _dag_run_fk(),
    )

    try_number: Mapped[int] = mapped_column(Integer, nullable=False)


class TaskReschedule(_TaskKey, Base):
    """A sensor in reschedule mode gave up its slot until ``reschedule_date``."""

    __tablename__ = "task_reschedule"
    __table_args__ = (
        _dag_run_fk(),
        Index(
            "ix_task_reschedule_ti_try", "dag_id", "run_id", "task_id", "map_index", "try_number"
        ),
    )

    try_number: Mapped[int] = mapped_column(Integer, nullable=False)
    start_date: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    end_date: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    reschedule_date: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
