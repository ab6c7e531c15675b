"""Claims of task tries by Celery workers: a try's message delivered twice runs once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# The types as they are at this revision (see 0001).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.String(250)
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TABLE = "task_try_claim"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(500), nullable=False),
        sa.Column("celery_task_id", sa.String(255), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint(
            "dag_id", "run_id", "task_id", "map_index", "try_number", name="pk_task_try_claim"
        ),
        **MYSQL_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table(TABLE)
