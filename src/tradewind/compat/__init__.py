"""The ``airflow`` import namespace, served by tradewind, so that Airflow DAG files run unchanged.

A DAG file written for Airflow 2 or 3 imports ``from airflow import DAG``,
``from airflow.operators.bash import BashOperator``, ``from airflow.sdk import dag, task``...
:func:`install` puts an import hook (:class:`~tradewind.compat.finder.AirflowFinder`) on
``sys.meta_path`` that answers those imports with tradewind's own classes and functions, as
listed in :data:`tradewind.compat.table.MODULES` (Airflow module path -> name ->
``"tradewind.module:attr"``, resolved on first access).

Where it applies: only inside tradewind's processes that import DAG files. The loader
(:mod:`tradewind.parsing.loader`) installs it, so the DAG processor and its children, warm
processes, task tries, ``dags test`` and ``tasks test`` all have it; nothing else does (``import
tradewind`` alone changes nothing).

It never shadows a real Airflow: :func:`install` does nothing when an ``airflow`` package or an
``apache-airflow`` distribution is importable, and the finder goes last on ``sys.meta_path``, so
any other finder that can import ``airflow`` wins; once a real ``airflow`` is imported, the hook
serves none of its submodules.

A module or name tradewind does not provide fails the import with an error that says so
(:class:`~tradewind.compat.finder.ModuleNotProvidedError`,
:class:`~tradewind.compat.finder.NameNotProvidedError`), naming the Airflow feature; a feature
listed as coming later (:data:`~tradewind.compat.table.NOT_YET`: none at present, now that
assets, datasets and deferral are served) says "not provided by tradewind yet".

This package imports nothing of tradewind's other parts: the table's targets are text.
"""

from __future__ import annotations

import importlib.metadata
import sys

from tradewind.compat.finder import (
    ROOT,
    AirflowFinder,
    ModuleNotProvidedError,
    NameNotProvidedError,
    is_served,
)

__all__ = [
    "AirflowFinder",
    "ModuleNotProvidedError",
    "NameNotProvidedError",
    "install",
    "installed",
    "real_airflow_importable",
    "uninstall",
]

# The distributions a real Airflow comes as (Airflow 2; Airflow 3's core and task SDK).
DISTRIBUTIONS = ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk")

_FINDER = AirflowFinder()
# Whether this process decided already (a real Airflow was found: it stays the one imported).
_decided = False


def installed() -> bool:
    """Whether this process serves the ``airflow`` namespace."""
    return _FINDER in sys.meta_path


def install() -> bool:
    """Serve ``airflow`` imports in this process, unless a real Airflow is importable.

    Decided once per process (children forked later inherit the decision); returns whether
    tradewind serves the namespace.
    """
    global _decided  # noqa: PLW0603 - one decision per process, by design
    if not _decided:
        _decided = True
        if not real_airflow_importable():
            sys.meta_path.append(_FINDER)
    return installed()


def uninstall() -> None:
    """Stop serving (and forget the modules served), so that the next :func:`install` decides
    again (for tests)."""
    global _decided  # noqa: PLW0603
    _decided = False
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n == ROOT or n.startswith(ROOT + ".")]:
        if is_served(sys.modules.get(name)):
            del sys.modules[name]


def real_airflow_importable() -> bool:
    """Whether an Airflow other than tradewind's can be imported here: an ``airflow`` module
    already imported, one that a finder on ``sys.meta_path`` finds, or an installed
    distribution of Airflow."""
    if ROOT in sys.modules:
        return not is_served(sys.modules[ROOT])
    for finder in sys.meta_path:
        if finder is _FINDER:
            continue
        find_spec = getattr(finder, "find_spec", None)
        try:
            if find_spec is not None and find_spec(ROOT, None) is not None:
                return True
        except (ImportError, ValueError):
            continue
    for name in DISTRIBUTIONS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return True
    return False
