"""Assets: the assets DAGs declare, their aliases, events and watchers, which DAGs produce and
consume them, the queue of events consumers have not run for, and what triggered each run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

# The types as they are at this revision (see 0001).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(250)
URI = sa.String(1500)
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _fk(table: str, column: str, target: str, target_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.{target_column}"],
        name=f"fk_{table}_{column}_{target}",
        ondelete="CASCADE",
    )


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=f"pk_{table}")


def upgrade() -> None:
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("uri", URI, nullable=False),
        sa.Column("uri_hash", sa.String(64), nullable=False),
        sa.Column("name", URI, nullable=False),
        sa.Column("group", ID, nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _pk("asset", "id"),
        sa.UniqueConstraint("uri_hash", name="uq_asset_uri_hash"),
        **MYSQL_OPTIONS,
    )
    op.create_table(
        "asset_alias",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("name", ID, nullable=False),
        sa.Column("group", ID, nullable=False),
        _pk("asset_alias", "id"),
        sa.UniqueConstraint("name", name="uq_asset_alias_name"),
        **MYSQL_OPTIONS,
    )
    op.create_table(
        "asset_alias_asset",
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        _fk("asset_alias_asset", "alias_id", "asset_alias", "id"),
        _fk("asset_alias_asset", "asset_id", "asset", "id"),
        _pk("asset_alias_asset", "alias_id", "asset_id"),
        **MYSQL_OPTIONS,
    )
    _references()
    _events()
    op.create_table(
        "asset_trigger",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("trigger_id", BIG_ID, nullable=False),
        sa.Column("name", ID, nullable=False),
        _fk("asset_trigger", "asset_id", "asset", "id"),
        _fk("asset_trigger", "trigger_id", "trigger", "id"),
        _pk("asset_trigger", "asset_id", "trigger_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_asset_trigger_trigger_id", "asset_trigger", ["trigger_id"])


def _references() -> None:
    for table, target, column, kind in (
        ("dag_schedule_asset_reference", "asset", "asset_id", "dag"),
        ("dag_schedule_asset_alias_reference", "asset_alias", "alias_id", "dag"),
        ("task_outlet_asset_reference", "asset", "asset_id", "task"),
        ("task_inlet_asset_reference", "asset", "asset_id", "task"),
    ):
        keys = ["dag_id", "task_id", column] if kind == "task" else ["dag_id", column]
        op.create_table(
            table,
            sa.Column("dag_id", ID, nullable=False),
            *([sa.Column("task_id", ID, nullable=False)] if kind == "task" else []),
            sa.Column(column, sa.Integer(), nullable=False),
            sa.Column("created_at", TIMESTAMP, nullable=False),
            _fk(table, "dag_id", "dag", "dag_id"),
            _fk(table, column, target, "id"),
            _pk(table, *keys),
            **MYSQL_OPTIONS,
        )
        op.create_index(f"ix_{table}_{column}", table, [column])


def _events() -> None:
    op.create_table(
        "asset_event",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("source_dag_id", ID, nullable=True),
        sa.Column("source_task_id", ID, nullable=True),
        sa.Column("source_run_id", ID, nullable=True),
        sa.Column("source_map_index", sa.Integer(), nullable=True),
        sa.Column("source_alias_name", ID, nullable=True),
        sa.Column("timestamp", TIMESTAMP, nullable=False),
        _fk("asset_event", "asset_id", "asset", "id"),
        _pk("asset_event", "id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_asset_event_asset_id_timestamp", "asset_event", ["asset_id", "timestamp"])
    op.create_table(
        "asset_dag_run_queue",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("target_dag_id", ID, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _fk("asset_dag_run_queue", "asset_id", "asset", "id"),
        _fk("asset_dag_run_queue", "target_dag_id", "dag", "dag_id"),
        _fk("asset_dag_run_queue", "event_id", "asset_event", "id"),
        _pk("asset_dag_run_queue", "id"),
        **MYSQL_OPTIONS,
    )
    op.create_index(
        "ix_asset_dag_run_queue_target_dag_id", "asset_dag_run_queue", ["target_dag_id"]
    )
    op.create_table(
        "dagrun_asset_event",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("dag_run_id", BIG_ID, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        _fk("dagrun_asset_event", "dag_run_id", "dag_run", "id"),
        _fk("dagrun_asset_event", "event_id", "asset_event", "id"),
        _pk("dagrun_asset_event", "id"),
        sa.UniqueConstraint(
            "dag_run_id", "event_id", name="uq_dagrun_asset_event_dag_run_id_event_id"
        ),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_dagrun_asset_event_event_id", "dagrun_asset_event", ["event_id"])


def downgrade() -> None:
    for table in (
        "asset_trigger",
        "dagrun_asset_event",
        "asset_dag_run_queue",
        "asset_event",
        "task_inlet_asset_reference",
        "task_outlet_asset_reference",
        "dag_schedule_asset_alias_reference",
        "dag_schedule_asset_reference",
        "asset_alias_asset",
        "asset_alias",
        "asset",
    ):
        op.drop_table(table)
