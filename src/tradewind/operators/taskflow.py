"""TaskFlow: ``@task`` turns a function into a task; calling it returns an XComArg.

``@task`` / ``@task.python`` run the function with PythonOperator; ``@task.bash`` runs the
command the function returns; ``@task.branch`` and ``@task.short_circuit`` decide which
downstream tasks run; ``@task.sensor`` pokes until the function returns True (or a done
PokeReturnValue); ``@task.virtualenv`` and ``@task.external_python`` (and their ``branch_``
flavours) run the function in another interpreter.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, overload

from tradewind.authoring import mapped, scope
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.callables import call_with_context
from tradewind.authoring.expandinput import (
    DictOfListsExpandInput,
    ExpandInput,
    FunctionPartial,
    ListOfDictsExpandInput,
    check_kwargs_input,
)
from tradewind.authoring.task_group import unique_label
from tradewind.authoring.xcom_arg import Resolvable, XComArg
from tradewind.exceptions import TaskError
from tradewind.operators.bash import BashOperator
from tradewind.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from tradewind.operators.python_virtualenv import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from tradewind.sensors.python import PythonSensor


class _PythonDecoratedOperator(PythonOperator):
    custom_operator_name = "@task"


class _BranchDecoratedOperator(BranchPythonOperator):
    custom_operator_name = "@task.branch"


class _ShortCircuitDecoratedOperator(ShortCircuitOperator):
    custom_operator_name = "@task.short_circuit"


class _SensorDecoratedOperator(PythonSensor):
    custom_operator_name = "@task.sensor"


class _VirtualenvDecoratedOperator(PythonVirtualenvOperator):
    custom_operator_name = "@task.virtualenv"


class _ExternalPythonDecoratedOperator(ExternalPythonOperator):
    custom_operator_name = "@task.external_python"


class _BranchVirtualenvDecoratedOperator(BranchPythonVirtualenvOperator):
    custom_operator_name = "@task.branch_virtualenv"


class _BranchExternalPythonDecoratedOperator(BranchExternalPythonOperator):
    custom_operator_name = "@task.branch_external_python"


class _BashDecoratedOperator(BashOperator):
    """Calls the function at run time and runs the command it returns."""

    custom_operator_name = "@task.bash"
    template_fields: ClassVar[Sequence[str]] = (
        "bash_command",
        "env",
        "cwd",
        "op_args",
        "op_kwargs",
    )

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | tuple[Any, ...] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(bash_command="", **kwargs)
        self.python_callable = python_callable
        self.op_args: list[Any] = list(op_args or [])
        self.op_kwargs: dict[str, Any] = dict(op_kwargs or {})

    def execute(self, context: Mapping[str, Any]) -> Any:
        command = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if not isinstance(command, str) or not command.strip():
            raise TaskError(
                f"@task.bash function {self.python_callable.__name__!r} must return a non-empty "
                f"command string, not {command!r}"
            )
        self.bash_command = command
        return super().execute(context)


def _returns_dict(function: Callable[..., Any]) -> bool:
    """Whether the return annotation is a dict type (then its keys become separate XComs)."""
    try:
        annotation = typing.get_type_hints(function).get("return")
    except Exception:
        # An annotation that does not evaluate (a forward reference, a typo) says nothing.
        return False
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, dict)


class TaskDecorator:
    """A function decorated with ``@task``: each call inside a DAG adds a task.

    Arguments may be plain values or XComArgs of other tasks (which become upstream
    dependencies). Calling it again gives task ids ``name__1``, ``name__2``...
    """

    def __init__(
        self,
        function: Callable[..., Any],
        operator_class: type[BaseOperator],
        operator_kwargs: Mapping[str, Any],
    ) -> None:
        if not callable(function):
            raise TypeError(f"@task decorates a function, not {function!r}")
        self.function = function
        self.operator_class = operator_class
        self.operator_kwargs = dict(operator_kwargs)
        functools.update_wrapper(self, function)

    def override(self, **operator_kwargs: Any) -> TaskDecorator:
        """A copy with other operator arguments (``task_id``, ``retries``, ``pool``...)."""
        return TaskDecorator(
            self.function, self.operator_class, {**self.operator_kwargs, **operator_kwargs}
        )

    def partial(self, **kwargs: Any) -> TaskPartial:
        """Function arguments every instance of the mapped task shares; then ``.expand()``."""
        return TaskPartial(self, kwargs)

    def expand(self, **kwargs: Any) -> XComArg:
        """A mapped task: one instance per item of the cross product of ``kwargs``' values
        (each a list, a dict or a task's output)."""
        return TaskPartial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        """A mapped task: one instance per dict of function arguments in ``kwargs``."""
        return TaskPartial(self, {}).expand_kwargs(kwargs, strict=strict)

    def _options(self) -> dict[str, Any]:
        """The operator's arguments for a new task, its (unique) task_id included."""
        options = dict(self.operator_kwargs)
        label = options.pop("task_id", None) or self.function.__name__
        dag = options.get("dag") or scope.current_dag()
        if dag is not None:
            group = options.get("task_group") or scope.current_group(dag) or dag.task_group
            label = unique_label(label, group, dag.task_dict)
        if options.get("multiple_outputs") is None:
            options["multiple_outputs"] = _returns_dict(self.function)
        if options.get("doc_md") is None and self.function.__doc__:
            options["doc_md"] = inspect.cleandoc(self.function.__doc__)
        return {"task_id": label, **options}

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        operator = self.operator_class(
            python_callable=self.function, op_args=args, op_kwargs=kwargs, **self._options()
        )
        return XComArg(operator)


class TaskPartial(FunctionPartial):
    """``@task`` function ``.partial(...)``: the arguments its mapped instances share."""

    def __init__(self, decorator: TaskDecorator, kwargs: Mapping[str, Any]):
        self.decorator = decorator
        super().__init__(decorator.function, kwargs)

    def expand(self, **mapped: Any) -> XComArg:
        self._check_expand(mapped)
        self._check_complete(mapped)
        return self._build(DictOfListsExpandInput(dict(mapped)))

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        check_kwargs_input(self._name, kwargs)
        if isinstance(kwargs, list | tuple):
            for item in kwargs:
                if isinstance(item, dict):
                    self._check_names("expand_kwargs", item)
        value = kwargs if isinstance(kwargs, Resolvable) else list(kwargs)
        return self._build(ListOfDictsExpandInput(value))

    def _build(self, expand_input: ExpandInput) -> XComArg:
        options = self.decorator._options()
        operator_class = self.decorator.operator_class
        kwargs = mapped.with_defaults(
            operator_class,
            {
                **options,
                "python_callable": self.decorator.function,
                "op_args": [],
                "op_kwargs": self.kwargs,
            },
        )
        operator = mapped.MappedOperator.build(
            operator_class, kwargs, expand_input, into_op_kwargs=True
        )
        return XComArg(operator)


class _TaskDecoratorFactory:
    def __init__(self, operator_class: type[BaseOperator]):
        self.operator_class = operator_class

    @overload
    def __call__(self, python_callable: Callable[..., Any]) -> TaskDecorator: ...

    @overload
    def __call__(
        self, python_callable: None = None, **operator_kwargs: Any
    ) -> Callable[[Callable[..., Any]], TaskDecorator]: ...

    def __call__(
        self, python_callable: Callable[..., Any] | None = None, **operator_kwargs: Any
    ) -> TaskDecorator | Callable[[Callable[..., Any]], TaskDecorator]:
        if python_callable is not None:
            return TaskDecorator(python_callable, self.operator_class, operator_kwargs)

        def decorate(function: Callable[..., Any]) -> TaskDecorator:
            return TaskDecorator(function, self.operator_class, operator_kwargs)

        return decorate


class _TaskNamespace(_TaskDecoratorFactory):
    """``task`` itself (the Python flavour) with the other flavours as attributes."""

    def __init__(self) -> None:
        super().__init__(_PythonDecoratedOperator)
        self.python = _TaskDecoratorFactory(_PythonDecoratedOperator)
        self.bash = _TaskDecoratorFactory(_BashDecoratedOperator)
        self.branch = _TaskDecoratorFactory(_BranchDecoratedOperator)
        self.short_circuit = _TaskDecoratorFactory(_ShortCircuitDecoratedOperator)
        self.sensor = _TaskDecoratorFactory(_SensorDecoratedOperator)
        self.virtualenv = _TaskDecoratorFactory(_VirtualenvDecoratedOperator)
        self.external_python = _TaskDecoratorFactory(_ExternalPythonDecoratedOperator)
        self.branch_virtualenv = _TaskDecoratorFactory(_BranchVirtualenvDecoratedOperator)
        self.branch_external_python = _TaskDecoratorFactory(_BranchExternalPythonDecoratedOperator)


task = _TaskNamespace()
"""``@task``, ``@task(...)``, ``@task.python``, ``@task.bash``, ``@task.branch``,
``@task.short_circuit``, ``@task.sensor``, ``@task.virtualenv``, ``@task.external_python``,
``@task.branch_virtualenv`` and ``@task.branch_external_python``; arguments are the
operator's."""
