"""The initial schema: DAGs, runs, task instances, XComs, resources, jobs, users, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# The types as they were at this revision, spelled out so that later edits to the models
# never change what this migration creates.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(250)
HASH = sa.String(64)
# Whatever the database's defaults, MySQL tables hold any Unicode text and compare ids
# exactly (case and accents matter), as they do on PostgreSQL and SQLite.
MYSQL_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, TIMESTAMP, nullable=nullable)


def _task_key(*, with_try: bool) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
    ]
    if with_try:
        columns.append(sa.Column("try_number", sa.Integer(), nullable=False))
    return columns


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["dag_id", "run_id"],
        ["dag_run.dag_id", "dag_run.run_id"],
        name=f"fk_{table}_dag_id_run_id_dag_run",
        ondelete="CASCADE",
    )


def _try_columns() -> list[sa.Column[object]]:
    """What task_instance and task_instance_history record about a try."""
    return [
        sa.Column("state", sa.String(20), nullable=True),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        _ts("start_date"),
        _ts("end_date"),
        sa.Column("duration", sa.Double(), nullable=True),
        sa.Column("hostname", sa.String(1000), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pool", sa.String(256), nullable=False),
        sa.Column("pool_slots", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(256), nullable=False),
        sa.Column("priority_weight", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(1000), nullable=True),
        _ts("queued_dttm"),
        _ts("scheduled_dttm"),
        sa.Column("external_executor_id", ID, nullable=True),
    ]


def upgrade() -> None:
    _create_dag_tables()
    _create_run_tables()
    _create_other_tables()


def _create_dag_tables() -> None:
    op.create_table(
        "dag",
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("fileloc", sa.Text(), nullable=False),
        sa.Column("fileloc_hash", HASH, nullable=False),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owners", sa.String(2000), nullable=True),
        sa.Column("schedule_description", sa.String(1000), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("max_active_tasks", sa.Integer(), nullable=False),
        sa.Column("has_import_errors", sa.Boolean(), nullable=False),
        _ts("last_parsed_at", nullable=False),
        _ts("next_dagrun"),
        _ts("next_dagrun_data_interval_start"),
        _ts("next_dagrun_data_interval_end"),
        _ts("next_dagrun_create_after"),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("dag_id", name="pk_dag"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_dag_fileloc_hash", "dag", ["fileloc_hash"])
    op.create_index("ix_dag_next_dagrun_create_after", "dag", ["next_dagrun_create_after"])

    op.create_table(
        "dag_tag",
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_id"], ["dag.dag_id"], name="fk_dag_tag_dag_id_dag", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("dag_id", "name", name="pk_dag_tag"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "serialized_dag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dag_hash", HASH, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_id"], ["dag.dag_id"], name="fk_serialized_dag_dag_id_dag", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_serialized_dag"),
        sa.UniqueConstraint("dag_id", "version", name="uq_serialized_dag_dag_id_version"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "dag_code",
        sa.Column("fileloc_hash", HASH, nullable=False),
        sa.Column("fileloc", sa.Text(), nullable=False),
        sa.Column("source", LONG_TEXT, nullable=False),
        sa.Column("source_hash", HASH, nullable=False),
        _ts("last_updated", nullable=False),
        sa.PrimaryKeyConstraint("fileloc_hash", name="pk_dag_code"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "dag_file",
        sa.Column("fileloc_hash", HASH, nullable=False),
        sa.Column("fileloc", sa.Text(), nullable=False),
        sa.Column("mtime", sa.Double(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_hash", HASH, nullable=False),
        _ts("last_parsed_at", nullable=False),
        sa.Column("parse_duration", sa.Double(), nullable=False),
        sa.Column("dag_ids", sa.JSON(), nullable=False),
        sa.Column("is_present", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("fileloc_hash", name="pk_dag_file"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "import_error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("fileloc_hash", HASH, nullable=False),
        _ts("timestamp", nullable=False),
        sa.Column("stacktrace", LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_error"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_import_error_fileloc_hash", "import_error", ["fileloc_hash"])


def _create_run_tables() -> None:
    op.create_table(
        "dag_run",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        _ts("logical_date", nullable=False),
        _ts("data_interval_start"),
        _ts("data_interval_end"),
        sa.Column("run_type", sa.String(50), nullable=False),
        sa.Column("state", sa.String(50), nullable=False),
        sa.Column("conf", sa.JSON(), nullable=True),
        _ts("queued_at"),
        _ts("start_date"),
        _ts("end_date"),
        sa.Column("external_trigger", sa.Boolean(), nullable=False),
        sa.Column("serialized_dag_id", sa.Integer(), nullable=True),
        _ts("last_scheduling_decision"),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_id"], ["dag.dag_id"], name="fk_dag_run_dag_id_dag", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["serialized_dag_id"],
            ["serialized_dag.id"],
            name="fk_dag_run_serialized_dag_id_serialized_dag",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dag_run"),
        sa.UniqueConstraint("dag_id", "run_id", name="uq_dag_run_dag_id_run_id"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_dag_run_dag_id_logical_date", "dag_run", ["dag_id", "logical_date"])
    op.create_index("ix_dag_run_serialized_dag_id", "dag_run", ["serialized_dag_id"])
    op.create_index("ix_dag_run_state_dag_id", "dag_run", ["state", "dag_id"])

    op.create_table(
        "task_instance",
        sa.Column("id", BIG_ID, nullable=False),
        *_task_key(with_try=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        *_try_columns(),
        _ts("next_try_at"),
        _ts("last_heartbeat_at"),
        sa.Column("queued_by_job_id", sa.Integer(), nullable=True),
        sa.Column("executor_config", sa.JSON(), nullable=True),
        _ts("updated_at", nullable=False),
        _run_fk("task_instance"),
        sa.PrimaryKeyConstraint("id", name="pk_task_instance"),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            name="uq_task_instance_dag_id_run_id_task_id_map_index",
        ),
        **MYSQL_OPTIONS,
    )
    for name, columns in {
        "ix_task_instance_state_pool": ["state", "pool"],
        "ix_task_instance_dag_id_run_id_state": ["dag_id", "run_id", "state"],
        "ix_task_instance_state_next_try_at": ["state", "next_try_at"],
        "ix_task_instance_state_last_heartbeat_at": ["state", "last_heartbeat_at"],
    }.items():
        op.create_index(name, "task_instance", columns)

    op.create_table(
        "task_instance_history",
        sa.Column("id", BIG_ID, nullable=False),
        *_task_key(with_try=True),
        *_try_columns(),
        _ts("updated_at", nullable=False),
        _run_fk("task_instance_history"),
        sa.PrimaryKeyConstraint("id", name="pk_task_instance_history"),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "try_number",
            name="uq_task_instance_history_try",
        ),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "task_reschedule",
        sa.Column("id", BIG_ID, nullable=False),
        *_task_key(with_try=True),
        _ts("start_date", nullable=False),
        _ts("end_date", nullable=False),
        _ts("reschedule_date", nullable=False),
        _run_fk("task_reschedule"),
        sa.PrimaryKeyConstraint("id", name="pk_task_reschedule"),
        **MYSQL_OPTIONS,
    )
    op.create_index(
        "ix_task_reschedule_ti_try",
        "task_reschedule",
        ["dag_id", "run_id", "task_id", "map_index", "try_number"],
    )

    op.create_table(
        "xcom",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("dag_run_id", BIG_ID, nullable=False),
        *_task_key(with_try=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        _ts("timestamp", nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_run_id"], ["dag_run.id"], name="fk_xcom_dag_run_id_dag_run", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_xcom"),
        sa.UniqueConstraint(
            "dag_run_id",
            "task_id",
            "map_index",
            "key",
            name="uq_xcom_dag_run_id_task_id_map_index_key",
        ),
        **MYSQL_OPTIONS,
    )


def _create_other_tables() -> None:
    op.create_table(
        "variable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.Column("val", LONG_TEXT, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_encrypted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_variable"),
        sa.UniqueConstraint("key", name="uq_variable_key"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conn_id", ID, nullable=False),
        sa.Column("conn_type", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("host", sa.String(500), nullable=True),
        sa.Column("schema", sa.String(500), nullable=True),
        sa.Column("login", sa.Text(), nullable=True),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.Column("is_encrypted", sa.Boolean(), nullable=False),
        sa.Column("is_extra_encrypted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_connection"),
        sa.UniqueConstraint("conn_id", name="uq_connection_conn_id"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "slot_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(256), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("include_deferred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slot_pool"),
        sa.UniqueConstraint("pool", name="uq_slot_pool_pool"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_type", sa.String(30), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("hostname", sa.String(1000), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("executor_class", sa.String(500), nullable=True),
        _ts("start_date", nullable=False),
        _ts("end_date"),
        _ts("latest_heartbeat", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job"),
        **MYSQL_OPTIONS,
    )
    op.create_index(
        "ix_job_job_type_state_latest_heartbeat", "job", ["job_type", "state", "latest_heartbeat"]
    )

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", ID, nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("last_login"),
        sa.PrimaryKeyConstraint("id", name="pk_user_account"),
        sa.UniqueConstraint("username", name="uq_user_account_username"),
        **MYSQL_OPTIONS,
    )

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        _ts("dttm", nullable=False),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column("owner", sa.String(500), nullable=True),
        sa.Column("dag_id", ID, nullable=True),
        sa.Column("task_id", ID, nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_audit_log_dttm", "audit_log", ["dttm"])


# Children before parents, so foreign keys never block a drop.
TABLES_IN_DROP_ORDER = (
    "audit_log",
    "user_account",
    "job",
    "slot_pool",
    "connection",
    "variable",
    "xcom",
    "task_reschedule",
    "task_instance_history",
    "task_instance",
    "dag_run",
    "import_error",
    "dag_file",
    "dag_code",
    "serialized_dag",
    "dag_tag",
    "dag",
)


def downgrade() -> None:
    for table in TABLES_IN_DROP_ORDER:
        op.drop_table(table)
