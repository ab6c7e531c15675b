"""Executors: where task tries run. Chosen by name (``core.executor``), imported only when used.

The names are :data:`tradewind.settings.EXECUTOR_NAMES` (the same list validates the setting);
``EXECUTORS`` maps each name to ``"module:Class"``: the executor ``x`` is ``XExecutor`` in
``tradewind.executors.x``. Optional stacks (Celery, Kubernetes) are imported only when their
executor is chosen, and a missing extra gives the pip command that installs it. Each executor
class builds itself with ``from_settings(settings)``.
"""

from __future__ import annotations

import importlib

from tradewind.executors.base import BaseExecutor, ExecutorError
from tradewind.settings import EXECUTOR_NAMES, Settings

__all__ = ["EXECUTORS", "create_executor", "load_executor"]

EXECUTORS: dict[str, str] = {
    name: f"tradewind.executors.{name}:{name.capitalize()}Executor" for name in EXECUTOR_NAMES
}

# executor name -> (pip extra, top-level modules that extra installs)
_EXTRAS: dict[str, tuple[str, frozenset[str]]] = {
    "celery": ("celery", frozenset({"celery", "kombu", "redis", "flower"})),
    "kubernetes": ("kubernetes", frozenset({"kubernetes"})),
}


def load_executor(name: str) -> type[BaseExecutor]:
    """The executor class called ``name``; an ExecutorError saying what to do when it cannot be."""
    target = EXECUTORS.get(name)
    if target is None:
        raise ExecutorError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ExecutorError(f"executor {name!r} is not available yet") from None
        extra, modules = _EXTRAS.get(name, ("", frozenset()))
        if exc.name is not None and exc.name.partition(".")[0] in modules:
            raise ExecutorError(
                f"executor {name!r} needs the {extra} extra: pip install 'tradewind[{extra}]'"
            ) from None
        raise
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, BaseExecutor)):
        raise ExecutorError(f"{target} is not an executor class")
    return cls


def create_executor(settings: Settings) -> BaseExecutor:
    """A new (not started) executor of the kind named by ``settings.core.executor``."""
    return load_executor(settings.core.executor).from_settings(settings)
