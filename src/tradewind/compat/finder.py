"""The import hook that serves ``airflow`` and ``airflow.*`` from :mod:`tradewind.compat.table`.

:class:`AirflowFinder` sits at the end of ``sys.meta_path``, so every other finder (a real
Airflow on ``sys.path`` included) is asked first. It serves ``airflow.X`` only when the
``airflow`` module in ``sys.modules`` is one of its own. Each module it makes is a
:class:`CompatModule`: a name is resolved on first access to the tradewind object the table
names, and a name or module the table does not have fails the import with an error that says
what tradewind does not provide.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

from tradewind.compat import table

ROOT = "airflow"


class ModuleNotProvidedError(ModuleNotFoundError):
    """An ``airflow`` module that tradewind does not provide (not at all, or not yet)."""


class NameNotProvidedError(ImportError):
    """A name that tradewind does not provide in an ``airflow`` module it serves."""


class CompatModule(types.ModuleType):
    """An ``airflow`` module served by tradewind: its names resolve on first access."""

    __tradewind_exports__: Mapping[str, str]

    def __init__(self, name: str, exports: Mapping[str, str]) -> None:
        super().__init__(name)
        self.__tradewind_exports__ = exports
        self.__all__ = sorted(exports)

    def __getattr__(self, name: str) -> Any:
        module_name = self.__name__
        if name.startswith("_"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        target = self.__tradewind_exports__.get(name)
        if target is not None:
            value = resolve(target)
            setattr(self, name, value)
            return value
        submodule = f"{module_name}.{name}"
        if submodule in table.MODULES:
            return importlib.import_module(submodule)
        if table.not_yet(submodule) or not self.__tradewind_exports__:
            # ``from airflow.providers import amazon``: a module, as far as anyone can tell.
            raise ModuleNotProvidedError(module_message(submodule), name=submodule)
        # Not an AttributeError: ``from m import name`` would put its own message in its place.
        raise NameNotProvidedError(
            name_message(module_name, name, self.__tradewind_exports__),
            name=module_name,
        )

    def __dir__(self) -> list[str]:
        return sorted({*self.__dict__, *self.__tradewind_exports__})


def resolve(target: str) -> Any:
    """The object a table target (``"tradewind.module:attr"``) names."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def name_message(module_name: str, name: str, exports: Mapping[str, str]) -> str:
    feature = table.not_yet(module_name, name)
    if feature is not None:
        return f"{module_name}.{name} ({feature}) is not provided by tradewind yet"
    instead = table.not_provided(module_name, name)
    if instead is not None:
        return f"cannot import {name!r} from {module_name}: not provided by tradewind ({instead})"
    provided = ", ".join(sorted(exports)) or "no names, only its submodules"
    return (
        f"cannot import {name!r} from {module_name}: {name} is not provided by tradewind "
        f"(tradewind's {module_name} has {provided})"
    )


def module_message(fullname: str) -> str:
    feature = table.not_yet(fullname)
    if feature is not None:
        return f"{fullname} ({feature}) is not provided by tradewind yet"
    instead = table.not_provided(fullname)
    if instead is not None:
        return f"{fullname} is not part of tradewind ({instead})"
    parts = fullname.split(".")
    if len(parts) >= 3 and parts[1] == "providers" and parts[2] == "standard":
        where = "tradewind serves the standard provider's common operators, sensors and utils"
    elif len(parts) >= 3 and parts[1] == "providers":
        where = "tradewind provides Airflow's standard provider only"
    else:
        where = "see the README's Airflow section for the airflow modules tradewind serves"
    return f"{fullname} is not part of tradewind ({where})"


class AirflowFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the ``airflow`` namespace from the table when no real Airflow was imported."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != ROOT and not fullname.startswith(ROOT + "."):
            return None
        if fullname != ROOT and not is_served(sys.modules.get(ROOT)):
            return None  # a real Airflow (or a stand-in) is imported: its modules are its own
        if fullname not in table.MODULES:
            raise ModuleNotProvidedError(module_message(fullname), name=fullname)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=table.is_package(fullname))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return CompatModule(spec.name, table.MODULES[spec.name])

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = f"Airflow's {module.__name__}, served by tradewind (tradewind.compat)."


def is_served(module: types.ModuleType | None) -> bool:
    """Whether ``module`` is one that tradewind serves (not a real Airflow's)."""
    return isinstance(module, CompatModule)
