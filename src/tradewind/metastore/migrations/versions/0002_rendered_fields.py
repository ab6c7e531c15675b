"""Rendered template fields: what each task instance's latest try rendered.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# The types as they are at this revision (see 0001).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.String(250)
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TABLE = "rendered_task_instance_fields"
KEY = ["dag_id", "run_id", "task_id", "map_index"]


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("rendered_fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        # The default name would pass PostgreSQL's and MySQL's 63/64-character limit.
        sa.ForeignKeyConstraint(
            KEY,
            [f"task_instance.{column}" for column in KEY],
            name="fk_rendered_task_instance_fields_task_instance",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*KEY, name="pk_rendered_task_instance_fields"),
        **MYSQL_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table(TABLE)
