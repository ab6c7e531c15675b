"""Assets (Airflow 2's datasets): what tasks produce and DAGs are scheduled on, the events that
say an asset was updated, and the queue of events each consumer DAG has not run for yet.

An asset is identified by its URI; ``uri_hash`` (sha256) carries the unique index, which a
1,500-character URI could not on MySQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base, created_at_column
from tradewind.metastore.types import BigId, UtcDateTime, utcnow

URI_LENGTH = 1500
HASH_LENGTH = 64


class AssetModel(Base):
    """One asset, as the latest DAG that declared it (or the first event) described it."""

    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(URI_LENGTH), nullable=False)
    uri_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(URI_LENGTH), nullable=False)
    group: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, default="asset")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)


class AssetAliasModel(Base):
    """A name under which tasks say at run time which assets they updated."""

    __tablename__ = "asset_alias"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, unique=True)
    group: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, default="asset")


class AssetAliasAsset(Base):
    """An asset an alias has resolved to (an event was emitted for it through the alias)."""

    __tablename__ = "asset_alias_asset"

    alias_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset_alias.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )


class DagScheduleAssetReference(Base):
    """A DAG scheduled on an asset (directly or in a condition)."""

    __tablename__ = "dag_schedule_asset_reference"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class DagScheduleAssetAliasReference(Base):
    """A DAG scheduled on an alias: it runs on events of the assets the alias resolves to."""

    __tablename__ = "dag_schedule_asset_alias_reference"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    alias_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset_alias.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class TaskOutletAssetReference(Base):
    """A task that declares an asset among its outlets (it produces it)."""

    __tablename__ = "task_outlet_asset_reference"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class TaskInletAssetReference(Base):
    """A task that declares an asset among its inlets (it reads it)."""

    __tablename__ = "task_inlet_asset_reference"

    dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class AssetEvent(Base):
    """One update of an asset: by a task try (its source), through an alias, or from outside
    (the API, the CLI, a watcher)."""

    __tablename__ = "asset_event"
    __table_args__ = (Index("ix_asset_event_asset_id_timestamp", "asset_id", "timestamp"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), nullable=False
    )
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    source_dag_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_map_index: Mapped[int | None] = mapped_column(Integer)
    source_alias_name: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)


class AssetDagRunQueue(Base):
    """An event a consumer DAG has not run for yet; the scheduler creates the consumer's run
    once the queued events meet its condition, and removes them in the same transaction."""

    __tablename__ = "asset_dag_run_queue"
    __table_args__ = (Index("ix_asset_dag_run_queue_target_dag_id", "target_dag_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), nullable=False
    )
    target_dag_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("dag.dag_id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("asset_event.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = created_at_column()


class DagRunAssetEvent(Base):
    """An event that triggered an asset-triggered run (its ``triggering_asset_events``)."""

    __tablename__ = "dagrun_asset_event"
    __table_args__ = (UniqueConstraint("dag_run_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dag_run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("dag_run.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("asset_event.id", ondelete="CASCADE"), nullable=False, index=True
    )


class AssetTrigger(Base):
    """A watcher of an asset: a trigger the triggerer runs, each event of which is an update."""

    __tablename__ = "asset_trigger"

    asset_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    trigger_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("trigger.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    name: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False)
