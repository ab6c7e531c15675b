"""``@dag``: build a DAG by calling a function that creates its tasks."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

from tradewind.authoring.dag import DAG
from tradewind.authoring.params import NOTSET, Param
from tradewind.authoring.xcom_arg import Resolvable


class DagParam(Resolvable):
    """A parameter of an ``@dag`` function: resolves to the run's value of that DAG param."""

    def __init__(self, dag: DAG, name: str):
        self.dag = dag
        self.name = name

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return context["params"][self.name]

    def __repr__(self) -> str:
        return f"DagParam({self.name!r})"


class DagFactory:
    """What ``@dag`` returns: each call builds (and returns) a new DAG.

    The function's parameters become DAG params (their defaults, overridden by call
    arguments, are the params' defaults); inside the function they are DagParam
    placeholders to pass to tasks. The dag_id defaults to the function's name and doc_md to
    its docstring.
    """

    def __init__(self, function: Callable[..., Any], dag_kwargs: Mapping[str, Any]):
        self.function = function
        self.dag_kwargs = dict(dag_kwargs)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> DAG:
        signature = inspect.signature(self.function)
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        function_params: dict[str, Param] = {}
        for name, parameter in signature.parameters.items():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            value = bound.arguments.get(name, NOTSET)
            function_params[name] = value if isinstance(value, Param) else Param(value)
        options = dict(self.dag_kwargs)
        options.setdefault("dag_id", self.function.__name__)
        if options.get("doc_md") is None and self.function.__doc__:
            options["doc_md"] = inspect.cleandoc(self.function.__doc__)
        options["params"] = {**function_params, **dict(options.get("params") or {})}
        dag = DAG(**options)
        with dag:
            self.function(**{name: DagParam(dag, name) for name in function_params})
        return dag


@overload
def dag(python_callable: Callable[..., Any]) -> DagFactory: ...


@overload
def dag(
    python_callable: None = None, **dag_kwargs: Any
) -> Callable[[Callable[..., Any]], DagFactory]: ...


def dag(
    python_callable: Callable[..., Any] | None = None, **dag_kwargs: Any
) -> DagFactory | Callable[[Callable[..., Any]], DagFactory]:
    """Decorate a function that creates tasks; calling it builds the DAG.

    Use as ``@dag`` or ``@dag(schedule="@daily", start_date=..., ...)`` with DAG's arguments.
    """
    if python_callable is not None:
        return DagFactory(python_callable, dag_kwargs)

    def decorate(function: Callable[..., Any]) -> DagFactory:
        return DagFactory(function, dag_kwargs)

    return decorate
