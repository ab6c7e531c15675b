"""Deferrable tasks: the trigger table, and where a deferred task instance waits and resumes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# The types as they are at this revision (see 0001).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "trigger",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("classpath", sa.String(1000), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("created_date", TIMESTAMP, nullable=False),
        sa.Column("triggerer_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_trigger"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_trigger_triggerer_id", "trigger", ["triggerer_id"])
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("trigger_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("trigger_timeout", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("next_method", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("next_kwargs", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("deferrals", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_task_instance_trigger_id", ["trigger_id"])
        batch.create_index("ix_task_instance_state_trigger_timeout", ["state", "trigger_timeout"])


def downgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_index("ix_task_instance_state_trigger_timeout")
        batch.drop_index("ix_task_instance_trigger_id")
        batch.drop_column("deferrals")
        batch.drop_column("next_kwargs")
        batch.drop_column("next_method")
        batch.drop_column("trigger_timeout")
        batch.drop_column("trigger_id")
    op.drop_index("ix_trigger_triggerer_id", table_name="trigger")
    op.drop_table("trigger")
