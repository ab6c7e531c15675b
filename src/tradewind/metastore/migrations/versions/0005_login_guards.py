"""Credential stamps on users (tokens and sessions that can be ended) and the shared count of
failed logins that throttles password guessing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# The types as they are at this revision (see 0001).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.String(250)
STAMP = sa.String(32)
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TABLE = "login_throttle"


def upgrade() -> None:
    # Existing users get "" stamps: the tokens and sessions they hold (which carry none) stay
    # valid until their first password change or logout.
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("token_stamp", STAMP, nullable=False, server_default=""))
        batch.add_column(sa.Column("session_stamp", STAMP, nullable=False, server_default=""))
    op.create_table(
        TABLE,
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", TIMESTAMP, nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_login_throttle"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_login_throttle_expires_at", TABLE, ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_expires_at", table_name=TABLE)
    op.drop_table(TABLE)
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("session_stamp")
        batch.drop_column("token_stamp")
