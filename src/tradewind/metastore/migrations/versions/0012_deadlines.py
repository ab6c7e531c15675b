"""Deadline alerts: the deadline table, one row per deadline a DAG run missed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

# The types as they are at this revision (see 0001).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "deadline",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("dag_run_id", BIG_ID, nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("alert_index", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(50), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("deadline_time", TIMESTAMP, nullable=False),
        sa.Column("missed_at", TIMESTAMP, nullable=False),
        sa.Column("callback", sa.String(1000), nullable=False),
        sa.Column("callback_state", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deadline"),
        sa.ForeignKeyConstraint(
            ["dag_run_id"],
            ["dag_run.id"],
            name="fk_deadline_dag_run_id_dag_run",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("dag_run_id", "alert_index", name="uq_deadline_dag_run_id_alert_index"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_deadline_dag_id_missed_at", "deadline", ["dag_id", "missed_at"])


def downgrade() -> None:
    op.drop_index("ix_deadline_dag_id_missed_at", table_name="deadline")
    op.drop_table("deadline")
