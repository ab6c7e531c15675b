"""States of task instances and DAG runs. Imports nothing of tradewind's."""

from __future__ import annotations

import enum


class TaskState(str, enum.Enum):
    """The state of one task instance (one task in one DAG run)."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    REMOVED = "removed"

    def __str__(self) -> str:
        return self.value


FINISHED_TASK_STATES = frozenset(
    {
        TaskState.SUCCESS,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.UPSTREAM_FAILED,
        TaskState.REMOVED,
    }
)
UNFINISHED_TASK_STATES = frozenset(set(TaskState) - FINISHED_TASK_STATES)


class DagRunState(str, enum.Enum):
    """The state of one DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class DagRunType(str, enum.Enum):
    """How a DAG run came to be; the prefix of its run_id."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    BACKFILL = "backfill"

    def __str__(self) -> str:
        return self.value
