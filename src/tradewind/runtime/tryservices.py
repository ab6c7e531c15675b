"""The context entries a try gets from its process beyond :func:`build_context`'s: access to
other DAGs' runs (:class:`~tradewind.runtime.crossdag.CrossDag`, for TriggerDagRunOperator and
ExternalTaskSensor) and, for a virtualenv task, the folder where its environments are cached.

A try run by an executor (:mod:`tradewind.runtime.runner`) and one run by ``tasks test``
(:mod:`tradewind.runtime.inprocess`) get them from here alike.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from tradewind.metastore import engine as engine_module
from tradewind.operators import python_virtualenv
from tradewind.runtime.crossdag import CrossDag
from tradewind.settings import Settings

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator


def try_services(task: BaseOperator, settings: Settings) -> tuple[dict[str, Any], CrossDag]:
    """The entries to add to ``task``'s context, and the CrossDag they hand over (it opens
    its own engine on first use: close it when the try is over)."""
    cross_dag = CrossDag(functools.partial(engine_module.create_engine, settings.database))
    entries = cross_dag.context_entries()
    operator_class = getattr(task, "operator_class", type(task))  # a mapped task's instances'
    if issubclass(operator_class, python_virtualenv.PythonVirtualenvOperator):
        entries[python_virtualenv.VENV_CACHE_KEY] = settings.core.venv_cache_folder
    return entries, cross_dag
