"""States of task instances and DAG runs. Imports nothing of tradewind's."""

from __future__ import annotations

import enum


class TaskState(enum.StrEnum):
    """The state of one task instance (one task in one DAG run)."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    # Cleared while queued or running: the scheduler stops the try's process, then the
    # instance goes back to none and runs again with the next try number (as in Airflow).
    RESTARTING = "restarting"
    SUCCESS = "success"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    # Waiting on a trigger run by a triggerer, with no process and no executor slot; it goes
    # back to scheduled (the same try) when the trigger fires, fails or times out.
    DEFERRED = "deferred"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    REMOVED = "removed"


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


class DagRunState(enum.StrEnum):
    """The state of one DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class DagRunType(enum.StrEnum):
    """How a DAG run came to be; the prefix of its run_id."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    BACKFILL = "backfill"
    # Airflow 2's name of BACKFILL (airflow.utils.types.DagRunType.BACKFILL_JOB).
    BACKFILL_JOB = "backfill"
    # Created because the assets the DAG is scheduled on were updated.
    ASSET_TRIGGERED = "asset_triggered"
    # Airflow 2's name of ASSET_TRIGGERED.
    DATASET_TRIGGERED = "asset_triggered"
