"""Executors: where task tries run. Chosen by name (``core.executor``), imported only when used.

``EXECUTORS`` maps each name to ``"module:Class"``; optional stacks (Celery, Kubernetes) are
imported only when their executor is chosen, and a missing extra gives the pip command that
installs it. Every executor class is built as ``cls(settings, runner=...)``.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from tradewind.executors.base import BaseExecutor, ExecutorError
from tradewind.executors.processes.runners import DEFAULT_RUNNER
from tradewind.settings import Settings

__all__ = ["DEFAULT_RUNNER", "EXECUTORS", "create_executor", "load_executor"]

EXECUTORS: dict[str, str] = {
    "sequential": "tradewind.executors.sequential:SequentialExecutor",
    "local": "tradewind.executors.local:LocalExecutor",
    "celery": "tradewind.executors.celery:CeleryExecutor",
    "kubernetes": "tradewind.executors.kubernetes:KubernetesExecutor",
}

# executor name -> (pip extra, top-level modules that extra installs)
_EXTRAS: dict[str, tuple[str, frozenset[str]]] = {
    "celery": ("celery", frozenset({"celery", "kombu", "redis", "flower"})),
    "kubernetes": ("kubernetes", frozenset({"kubernetes"})),
}


class ExecutorFactory(Protocol):
    def __call__(self, settings: Settings, *, runner: str = ...) -> BaseExecutor: ...


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


def create_executor(settings: Settings, *, runner: str = DEFAULT_RUNNER) -> BaseExecutor:
    """A new (not started) executor of the kind named by ``settings.core.executor``."""
    factory = cast(ExecutorFactory, load_executor(settings.core.executor))
    return factory(settings, runner=runner)
