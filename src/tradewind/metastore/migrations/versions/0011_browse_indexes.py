"""Indexes on the date columns the Browse pages list by: runs by logical date, task instances
by start date, XComs by timestamp, jobs by start date (of every DAG, newest first).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

INDEXES = (
    ("ix_dag_run_logical_date", "dag_run", "logical_date"),
    ("ix_task_instance_start_date", "task_instance", "start_date"),
    ("ix_xcom_timestamp", "xcom", "timestamp"),
    ("ix_job_start_date", "job", "start_date"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
