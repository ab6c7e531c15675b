"""The metastore's tables as SQLAlchemy models; ``metadata`` holds them all."""

from __future__ import annotations

from tradewind.metastore.models.asset import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    AssetTrigger,
    DagRunAssetEvent,
    DagScheduleAssetAliasReference,
    DagScheduleAssetReference,
    TaskInletAssetReference,
    TaskOutletAssetReference,
)
from tradewind.metastore.models.auth import AuditLog, LoginThrottle, User
from tradewind.metastore.models.base import (
    ID_LENGTH,
    NAMING_CONVENTION,
    VERSION_TABLE,
    Base,
    metadata,
)
from tradewind.metastore.models.claims import TaskTryClaim
from tradewind.metastore.models.dag import (
    DagCode,
    DagFile,
    DagModel,
    DagTag,
    ParseImportError,
    SerializedDagModel,
)
from tradewind.metastore.models.dagrun import DagRun
from tradewind.metastore.models.deadline import Deadline
from tradewind.metastore.models.job import Job
from tradewind.metastore.models.rendered import RenderedTaskInstanceFields
from tradewind.metastore.models.resources import Connection, Pool, Variable
from tradewind.metastore.models.taskinstance import (
    DEFAULT_POOL,
    DEFAULT_QUEUE,
    NO_MAP_INDEX,
    TaskInstance,
    TaskInstanceHistory,
    TaskReschedule,
)
from tradewind.metastore.models.trigger import Trigger
from tradewind.metastore.models.xcom import RETURN_VALUE_KEY, XCom

__all__ = [
    "DEFAULT_POOL",
    "DEFAULT_QUEUE",
    "ID_LENGTH",
    "NAMING_CONVENTION",
    "NO_MAP_INDEX",
    "RETURN_VALUE_KEY",
    "VERSION_TABLE",
    "AssetAliasAsset",
    "AssetAliasModel",
    "AssetDagRunQueue",
    "AssetEvent",
    "AssetModel",
    "AssetTrigger",
    "AuditLog",
    "Base",
    "Connection",
    "DagCode",
    "DagFile",
    "DagModel",
    "DagRun",
    "DagRunAssetEvent",
    "DagScheduleAssetAliasReference",
    "DagScheduleAssetReference",
    "DagTag",
    "Deadline",
    "Job",
    "LoginThrottle",
    "ParseImportError",
    "Pool",
    "RenderedTaskInstanceFields",
    "SerializedDagModel",
    "TaskInletAssetReference",
    "TaskInstance",
    "TaskInstanceHistory",
    "TaskOutletAssetReference",
    "TaskReschedule",
    "TaskTryClaim",
    "Trigger",
    "User",
    "Variable",
    "XCom",
    "metadata",
]
