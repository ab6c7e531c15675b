"""Airflow's arguments to tasks and DAGs beyond the ones in their signatures: what tradewind
does with each.

DAG files written for Airflow pass arguments for every feature Airflow has. Each documented
argument is, here or in the signature of ``BaseOperator``/``DAG``, one of:

- honoured: read from ``**kwargs`` with its default (``TASK_EXTRAS``, ``DAG_EXTRAS``), so the
  signatures stay short; an old name is taken with a deprecation warning (``RENAMED``);
- accepted and ignored, because leaving it out changes nothing about which tasks run and how
  they end (an SLA, a per-task executor, UI hints): kept on the object as given, with one
  warning per argument and DAG file line saying it has no effect (``TASK_IGNORED``,
  ``DAG_IGNORED``);
- refused, where ignoring it would make the DAG do something else (``TASK_REFUSED``,
  ``DAG_REFUSED``): the import of the DAG file fails with an error naming the argument and why.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from tradewind.authoring import location


class IgnoredArgumentWarning(UserWarning):
    """An Airflow argument that tradewind accepts but that has no effect in tradewind."""


# Honoured task arguments that BaseOperator reads from **kwargs, with their defaults.
TASK_EXTRAS: Mapping[str, Any] = {
    "ignore_first_depends_on_past": True,
    "wait_for_past_depends_before_skipping": False,
    "max_active_tis_per_dag": None,
    "max_active_tis_per_dagrun": None,
    "doc": None,
    "doc_rst": None,
    "doc_json": None,
    "doc_yaml": None,
    "map_index_template": None,
    "inlets": None,
    "outlets": None,
}
# Honoured DAG arguments that DAG reads from **kwargs, with their defaults.
DAG_EXTRAS: Mapping[str, Any] = {
    "jinja_environment_kwargs": None,
    "template_undefined": None,
    "deadline": None,
}
# Airflow 2's names of arguments: old name -> new name (the old one warns).
RENAMED: Mapping[str, str] = {
    "task_concurrency": "max_active_tis_per_dag",
    "concurrency": "max_active_tasks",
    "timetable": "schedule",
}

TASK_IGNORED: Mapping[str, str] = {
    "sla": "Airflow 3 removed SLAs",
    "resources": "tradewind reserves no CPU, memory or disk per task",
    "run_as_user": "tasks run as the user of the worker that runs them",
    "executor": "every task runs on the executor the deployment is configured with",
    "logger_name": "a task's log lines all go to its try's log",
    "allow_nested_operators": "tradewind does not check for operators created in execute()",
}
DAG_IGNORED: Mapping[str, str] = {
    "owner_links": "the UI shows owners without links",
    "access_control": "access is per role for all DAGs, not per DAG",
    "sla_miss_callback": "Airflow 3 removed SLAs",
    "default_view": "the DAG page opens on the grid",
    "orientation": "the graph is laid out left to right",
    "max_consecutive_failed_dag_runs": "a DAG is not paused after failed runs",
    "auto_register": "every DAG a file creates is registered",
    "disable_bundle_versioning": "DAG bundles are not provided",
}
# Values with which an ignored argument asks for what tradewind does anyway: no warning.
_SAME_AS_TRADEWIND: Mapping[str, Any] = {"auto_register": True}
# Removed by Airflow 3: these warn as deprecated rather than as having no effect.
_REMOVED = frozenset({"sla", "sla_miss_callback"})

TASK_REFUSED: Mapping[str, str] = {
    "pre_execute": "tradewind does not call pre_execute/post_execute callables, and the task "
    "would run without the check it makes (use on_execute_callback or do it in the task)",
    "post_execute": "tradewind does not call pre_execute/post_execute callables (do the work "
    "in the task or in on_success_callback)",
}
_FAIL_FAST = (
    "tradewind does not stop a run's other tasks when one fails, so the run would go on "
    "(leave it out, or make the failure's downstream tasks depend on it)"
)
DAG_REFUSED: Mapping[str, str] = {"fail_stop": _FAIL_FAST, "fail_fast": _FAIL_FAST}

_warned: set[tuple[str, int, str]] = set()


def take(
    target: object,
    kwargs: dict[str, Any],
    *,
    extras: Mapping[str, Any],
    ignored: Mapping[str, str],
    refused: Mapping[str, str],
    owner: str,
    where: location.Location,
) -> dict[str, Any]:
    """Pop the Airflow arguments of one table set from ``kwargs`` (what stays is unknown).

    Returns the honoured ones (every name of ``extras``, given or defaulted, renamed ones
    under their new name); the ignored ones are set on ``target`` as given (a DAG or a task
    keeps them as attributes). A refused one is a ValueError naming it; ``owner`` ("task
    'load'", "DAG 'etl'") starts the warnings.
    """
    for name in sorted(set(refused) & set(kwargs)):
        raise ValueError(f"{name} is not supported: {refused[name]}")
    honoured = dict(extras)
    for old in sorted(set(RENAMED) & set(kwargs)):
        new = RENAMED[old]
        if new in extras:
            _warn(f"{owner}: {old} is deprecated (Airflow 3 removed it): use {new}", where)
            honoured[new] = kwargs.pop(old)
    honoured.update({name: kwargs.pop(name) for name in extras if name in kwargs})
    dropped = {name: kwargs.pop(name) for name in ignored if name in kwargs}
    for name, value in dropped.items():
        if name in _SAME_AS_TRADEWIND and value == _SAME_AS_TRADEWIND[name]:
            continue
        _warn(f"{owner}: {name} is ignored ({ignored[name]})", where, name)
    for name, value in dropped.items():
        setattr(target, name, value)
    return honoured


def _warn(message: str, where: location.Location, name: str | None = None) -> None:
    """Warn once per DAG file line and argument (a loop of tasks warns once)."""
    key = (where.fileloc, where.lineno, name or message)
    if key in _warned:
        return
    _warned.add(key)
    removed = name is None or name in _REMOVED
    category: type[Warning] = DeprecationWarning if removed else IgnoredArgumentWarning
    warnings.warn_explicit(message, category, where.fileloc, where.lineno)
