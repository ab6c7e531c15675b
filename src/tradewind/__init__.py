"""tradewind: a fast, light workflow orchestrator with Airflow's concepts.

DAG files import their building blocks from here::

    from tradewind import DAG, dag, task, task_group, TaskGroup, Param, chain, cross_downstream
    from tradewind import Label, setup, teardown

Names load on first use, so commands that never touch DAGs (``tradewind db ...``) do not pay
for importing the authoring layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tradewind.version import __version__

if TYPE_CHECKING:
    from tradewind.authoring.asset_decorator import asset
    from tradewind.authoring.assets import AssetWatcher
    from tradewind.authoring.dag import DAG
    from tradewind.authoring.dag_decorator import dag
    from tradewind.authoring.dependencies import chain, cross_downstream
    from tradewind.authoring.edges import Label
    from tradewind.authoring.params import Param
    from tradewind.authoring.rules import TriggerRule
    from tradewind.authoring.task_group import TaskGroup, task_group
    from tradewind.authoring.xcom_arg import XComArg
    from tradewind.operators.setup_teardown import setup, teardown
    from tradewind.operators.taskflow import task

__all__ = [
    "DAG",
    "Asset",
    "AssetAlias",
    "AssetWatcher",
    "Dataset",
    "Label",
    "Param",
    "TaskGroup",
    "TriggerRule",
    "XComArg",
    "__version__",
    "asset",
    "chain",
    "cross_downstream",
    "dag",
    "setup",
    "task",
    "task_group",
    "teardown",
]

_LAZY = {
    "Asset": "tradewind.authoring.assets",
    "AssetAlias": "tradewind.authoring.assets",
    "AssetWatcher": "tradewind.authoring.assets",
    "DAG": "tradewind.authoring.dag",
    "Dataset": "tradewind.authoring.assets",
    "Label": "tradewind.authoring.edges",
    "Param": "tradewind.authoring.params",
    "TaskGroup": "tradewind.authoring.task_group",
    "TriggerRule": "tradewind.authoring.rules",
    "XComArg": "tradewind.authoring.xcom_arg",
    "asset": "tradewind.authoring.asset_decorator",
    "chain": "tradewind.authoring.dependencies",
    "cross_downstream": "tradewind.authoring.dependencies",
    "dag": "tradewind.authoring.dag_decorator",
    "setup": "tradewind.operators.setup_teardown",
    "task": "tradewind.operators.taskflow",
    "teardown": "tradewind.operators.setup_teardown",
    "task_group": "tradewind.authoring.task_group",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tradewind' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
