"""The callback of a missed deadline alert, in a process of its own:
``python -m tradewind.runtime.deadline_callbacks DAG_FILE DAG_ID RUN_ID ALERT_INDEX``
(settings from the environment the scheduler passes).

The callable of the alert's ``AsyncCallback``/``SyncCallback`` is called with its ``kwargs``
(strings rendered as templates with the run's context) and, when it takes one, ``context``; a
coroutine is awaited; a notifier class is made with the kwargs and called with the context.
The output goes to the run's log folder, ``dag_id=.../run_id=.../deadline_callback.log``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tradewind.authoring import templating
from tradewind.authoring.deadline import Callback
from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.runtime import logs, lookups
from tradewind.runtime.dag_callbacks import callback_log_path, find_dag, run_context
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.notifiers import BaseNotifier, with_log_url
from tradewind.runtime.reader import MetastoreReader
from tradewind.settings import Settings, load_settings

log = logging.getLogger(__name__)


def _resolve(found: Callable[..., Any] | str) -> Callable[..., Any]:
    if not isinstance(found, str):
        return found
    module, _, name = found.rpartition(".")
    resolved: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return resolved


def _takes_context(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "context" or p.kind is p.VAR_KEYWORD for p in parameters)


def call(callback: Callback, context: Mapping[str, Any]) -> None:
    """Call a deadline callback with the run's context (see the module's docstring)."""
    function = _resolve(callback.callback_callable)
    env = templating.template_environment(context.get("dag"))
    kwargs = templating.render_value(dict(callback.kwargs), context, env)
    if isinstance(function, type) and issubclass(function, BaseNotifier):
        function(**kwargs)(context)
        return
    if isinstance(function, BaseNotifier):  # a notifier made in the DAG file
        function(context)
        return
    if _takes_context(function):
        kwargs = {"context": context, **kwargs}
    result = function(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    if isinstance(result, BaseNotifier):
        result(context)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def run_deadline_callback(
    settings: Settings, dag_file: Path, dag_id: str, run_id: str, index: int
) -> int:
    """Call the callback of the DAG's deadline alert ``index`` for the run; 0 when it ran."""
    masker = SecretsMasker()
    folder = settings.logging.base_log_folder
    path = callback_log_path(folder, dag_id, run_id, "deadline_callback.log")
    with logs.TryLog(path, masker, settings.logging.level):
        dag = find_dag(dag_file, dag_id)
        if dag is None or index >= len(dag.deadline):
            log.error("DAG %s in %s has no deadline alert #%d", dag_id, dag_file, index)
            return 1
        alert = dag.deadline[index]
        engine = engine_module.create_engine(settings.database)
        reader = MetastoreReader(engine, crypto.Cipher(settings.core.fernet_key), masker)
        try:
            run = reader.dag_run(dag_id, run_id)
            context = {**run_context(dag, run, run_id, "deadline missed"), "deadline": alert}
            log.warning("Run %s missed its deadline (%r): calling the callback", run_id, alert)
            with lookups.reading_from(reader, settings):
                call(alert.callback, with_log_url(context))
        except Exception:
            log.exception("the deadline callback of DAG %s raised", dag_id)
            return 1
        finally:
            reader.close()
            engine.dispose()
        log.info("Deadline callback for run %s done", run_id)
        return 0


def main(argv: Sequence[str]) -> int:
    if len(argv) != 4 or not argv[3].isdigit():
        print("usage: python -m tradewind.runtime.deadline_callbacks FILE DAG_ID RUN_ID INDEX")
        return 2
    dag_file, dag_id, run_id, index = argv
    return run_deadline_callback(load_settings(), Path(dag_file), dag_id, run_id, int(index))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
