"""Calling a user's Python callable with its arguments plus the context values it asks for."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# The context's keys (Airflow's names): a parameter so named is filled from the context, so a
# mapped task's check for missing arguments does not ask for it.
KNOWN_CONTEXT_KEYS = frozenset(
    [
        "conf",
        "conn",
        "dag",
        "dag_run",
        "data_interval_end",
        "data_interval_start",
        "ds",
        "ds_nodash",
        "execution_date",
        "expanded_ti_count",
        "inlet_events",
        "inlets",
        "logical_date",
        "macros",
        "map_index",
        "map_index_template",
        "next_ds",
        "next_ds_nodash",
        "next_execution_date",
        "outlet_events",
        "outlets",
        "params",
        "prev_data_interval_end_success",
        "prev_data_interval_start_success",
        "prev_ds",
        "prev_ds_nodash",
        "prev_end_date_success",
        "prev_execution_date",
        "prev_start_date_success",
        "run_id",
        "task",
        "task_instance",
        "task_instance_key_str",
        "templates_dict",
        "test_mode",
        "ti",
        "triggering_asset_events",
        "triggering_dataset_events",
        "try_number",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "var",
    ]
)


def call_with_context(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    context: Mapping[str, Any],
) -> Any:
    """Call ``function(*args, **kwargs)``, adding the context entries its signature names.

    A function with ``**kwargs`` gets the whole context; otherwise only parameters named
    like context keys (``ti``, ``ds``, ``params``, ...) that the call does not fill already.
    """
    return function(*args, **kwargs, **context_arguments(function, args, kwargs, context))


def context_arguments(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """The context entries :func:`call_with_context` adds to the call's keyword arguments."""
    signature = inspect.signature(function)
    parameters = signature.parameters
    bound = signature.bind_partial(*args, **kwargs).arguments
    takes_all = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    extra: dict[str, Any] = {}
    for key, value in context.items():
        if key in bound or key in kwargs:
            continue
        parameter = parameters.get(key)
        if parameter is None:
            wanted = takes_all
        else:
            wanted = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        if wanted:
            extra[key] = value
    return extra


def bind_python_callable(
    op: Any,
    python_callable: Callable[..., Any],
    op_args: Sequence[Any] | None,
    op_kwargs: Mapping[str, Any] | None,
    templates_dict: Mapping[str, Any] | None,
) -> None:
    """Check and store the arguments of an operator that calls a Python function.

    ``op`` is the operator being built (it provides ``task_id`` and ``_error``); shared by
    PythonOperator and PythonSensor so both refuse the same bad input the same way.
    """
    if not callable(python_callable):
        raise op._error(
            f"task {op.task_id!r}: python_callable must be callable, not {python_callable!r}"
        )
    if op_args is not None and not isinstance(op_args, list | tuple):
        raise op._error(f"task {op.task_id!r}: op_args must be a list, not {op_args!r}")
    if op_kwargs is not None and not isinstance(op_kwargs, Mapping):
        raise op._error(f"task {op.task_id!r}: op_kwargs must be a dict, not {op_kwargs!r}")
    op.python_callable = python_callable
    op.op_args = list(op_args or [])
    op.op_kwargs = dict(op_kwargs or {})
    op.templates_dict = dict(templates_dict) if templates_dict is not None else None
