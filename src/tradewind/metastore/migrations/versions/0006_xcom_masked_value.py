"""The rendition of an XCom for display when its value holds a secret the pushing try used.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("xcom") as batch:
        batch.add_column(sa.Column("masked_value", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xcom") as batch:
        batch.drop_column("masked_value")
