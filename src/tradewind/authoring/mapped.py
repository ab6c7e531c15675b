"""Dynamic task mapping for classic operators: ``Op.partial(task_id=..., ...).expand(...)``.

``partial()`` gives an :class:`OperatorPartial` (the arguments every instance shares);
``expand(name=values)`` or ``expand_kwargs(list_of_dicts)`` on it gives a
:class:`MappedOperator`, a task of the DAG like any other whose instances the scheduler creates
once the values are known. At run time :meth:`MappedOperator.unmap` builds the concrete
operator of one instance (see :mod:`tradewind.authoring.expandinput` for the values).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tradewind.authoring import airflow_args, scope
from tradewind.authoring.baseoperator import BaseOperator, _accepted_arguments
from tradewind.authoring.expandinput import (
    DictOfListsExpandInput,
    ExpandInput,
    ListOfDictsExpandInput,
    Resolved,
    check_kwargs_input,
    check_literal,
)
from tradewind.authoring.task_group import MappedTaskGroup, mapped_group_of
from tradewind.authoring.xcom_arg import (
    ConcatXComArg,
    MapXComArg,
    Resolvable,
    XComArg,
    ZipXComArg,
)

if TYPE_CHECKING:
    from tradewind.authoring.dag import DAG

_MEMBERSHIP = frozenset({"task_id", "dag", "task_group"})
# BaseOperator's own arguments: shared by every instance, so they go to partial(), never to
# expand() (Airflow refuses to map over them too).
BASE_ARGUMENTS = (
    frozenset(inspect.signature(BaseOperator.__init__).parameters)
    | frozenset(airflow_args.TASK_EXTRAS)
    | frozenset(airflow_args.TASK_IGNORED)
    | frozenset(airflow_args.TASK_REFUSED)
    | {"default_args", "task_concurrency"}
) - {"self", "kwargs"}
# Attributes the serialized task reads from a sensor or a short-circuit task.
_SHOWN_DEFAULTS = (
    "mode",
    "poke_interval",
    "timeout",
    "soft_fail",
    "ignore_downstream_trigger_rules",
)


def with_defaults(operator_class: type[BaseOperator], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` completed from the DAG's and task group's ``default_args`` (and the call's
    own ``default_args=``), as creating the operator would complete them."""
    given = dict(kwargs)
    own = given.pop("default_args", None) or {}
    group = given.get("task_group")
    dag = given.get("dag") or (group.dag if group is not None else scope.current_dag())
    if group is None and dag is not None:
        group = scope.current_group(dag)
    defaults: dict[str, Any] = dict(dag.default_args) if dag is not None else {}
    if group is not None:
        defaults.update(group.default_args)
    defaults.update(own)
    accepted = _accepted_arguments(operator_class) - _MEMBERSHIP - {"params"}
    for key, value in defaults.items():
        if key in accepted and key not in given:
            given[key] = value
    return given


def check_known(operator_class: type[BaseOperator], method: str, names: Mapping[str, Any]) -> None:
    """A TypeError naming the arguments ``operator_class`` does not take, as Airflow's."""
    known = _accepted_arguments(operator_class) | BASE_ARGUMENTS
    unknown = [name for name in names if name not in known]
    if len(unknown) == 1:
        raise TypeError(
            f"{operator_class.__name__}.{method}() got an unexpected keyword argument "
            f"{unknown[0]!r}"
        )
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise TypeError(
            f"{operator_class.__name__}.{method}() got unexpected keyword arguments {listed}"
        )


def _required(operator_class: type[BaseOperator]) -> set[str]:
    """Arguments of the class's ``__init__`` chain that have no default anywhere."""
    required: set[str] = set()
    defaulted: set[str] = set()
    for klass in operator_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or not issubclass(klass, BaseOperator):
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                continue
            if parameter.default is not parameter.empty:
                defaulted.add(parameter.name)
            elif parameter.name not in defaulted:
                required.add(parameter.name)
    return required - defaulted - {"self"}


def _signature_default(operator_class: type[BaseOperator], name: str) -> Any:
    for klass in operator_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameter = inspect.signature(init).parameters.get(name)
        if parameter is not None and parameter.default is not parameter.empty:
            return parameter.default
    return None


class OperatorPartial:
    """What ``Op.partial(task_id=..., **kwargs)`` returns; expand it to get the mapped task."""

    def __init__(self, operator_class: type[BaseOperator], kwargs: Mapping[str, Any]):
        name = operator_class.__name__
        if "task_id" not in kwargs:
            raise TypeError(f"{name}.partial() needs a task_id")
        check_known(operator_class, "partial", kwargs)
        self.operator_class = operator_class
        self.kwargs = with_defaults(operator_class, kwargs)

    def expand(self, **mapped: Any) -> MappedOperator:
        """One instance per item of the cross product of ``mapped``'s values."""
        name = self.operator_class.__name__
        if not mapped:
            raise TypeError(f"{name}.expand() needs at least one keyword argument to expand over")
        check_known(self.operator_class, "expand", mapped)
        refused = sorted(set(mapped) & BASE_ARGUMENTS)
        if refused:
            raise ValueError(
                f"{name}.expand() cannot map over {', '.join(map(repr, refused))}: it is an "
                "argument of every operator; pass it to partial() instead"
            )
        repeated = sorted(set(mapped) & set(self.kwargs))
        if repeated:
            raise TypeError(
                f"{name}.expand() got {', '.join(map(repr, repeated))}, already given to partial()"
            )
        for key, value in mapped.items():
            check_literal(name, key, value)
        missing = sorted(_required(self.operator_class) - set(self.kwargs) - set(mapped))
        if missing:
            raise TypeError(
                f"{name}.partial() is missing required argument(s) {', '.join(map(repr, missing))} "
                "(give them to partial() or expand())"
            )
        return MappedOperator.build(
            self.operator_class, self.kwargs, DictOfListsExpandInput(dict(mapped))
        )

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> MappedOperator:
        """One instance per dict of ``kwargs`` (a list of dicts, or a task's output)."""
        check_kwargs_input(self.operator_class.__name__, kwargs)
        if isinstance(kwargs, list | tuple):
            for item in kwargs:
                if isinstance(item, dict):
                    check_known(self.operator_class, "expand_kwargs", item)
        value = kwargs if isinstance(kwargs, Resolvable) else list(kwargs)
        return MappedOperator.build(self.operator_class, self.kwargs, ListOfDictsExpandInput(value))

    def __repr__(self) -> str:
        return f"<OperatorPartial {self.operator_class.__name__}: {self.kwargs.get('task_id')}>"


class MappedOperator(BaseOperator):
    """A task with one instance per item of its ``expand_input`` (Airflow's MappedOperator).

    It carries the shared (``partial``) arguments; its scheduling arguments (retries, pool,
    trigger_rule...) are those of every instance. For a TaskFlow task, the expanded values are
    the function's arguments (``op_kwargs``) instead of the operator's.
    """

    def __init__(
        self,
        *,
        operator_class: type[BaseOperator],
        partial_kwargs: Mapping[str, Any],
        expand_input: ExpandInput,
        into_op_kwargs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mapped_group_of(self.task_group) is not None:
            raise self._error(
                f"task {self.task_id!r}: a mapped task inside a mapped task group is not "
                "supported (map the group, or move the task out of it)"
            )
        self.operator_class = operator_class
        self.partial_kwargs = {k: v for k, v in partial_kwargs.items() if k not in _MEMBERSHIP}
        self.expand_input = expand_input
        self.into_op_kwargs = into_op_kwargs
        # Shown as the operator it expands to (serialized DAG, UI).
        shown_as = {
            "custom_operator_name": operator_class.custom_operator_name,
            "is_sensor": operator_class.is_sensor,
            "template_fields": tuple(operator_class.template_fields),
            "template_ext": tuple(operator_class.template_ext),
        }
        for name, value in shown_as.items():
            setattr(self, name, value)
        for name, value in self._shown_arguments().items():
            if name not in BASE_ARGUMENTS and not hasattr(type(self), name):
                setattr(self, name, value)
        for name in (*self.template_fields, *_SHOWN_DEFAULTS):
            if not hasattr(self, name):
                setattr(self, name, _signature_default(operator_class, name))
        for reference in expand_input.references():
            for upstream in reference.upstream_operators():
                if upstream is not self:
                    upstream.add_downstream_task(self)

    @classmethod
    def build(
        cls,
        operator_class: type[BaseOperator],
        kwargs: Mapping[str, Any],
        expand_input: ExpandInput,
        *,
        into_op_kwargs: bool = False,
    ) -> MappedOperator:
        """The mapped task for ``operator_class`` with the shared ``kwargs`` (task_id
        included, default_args already applied)."""
        base = {k: v for k, v in kwargs.items() if k in BASE_ARGUMENTS and k != "default_args"}
        mapped: MappedOperator = cls(
            operator_class=operator_class,
            partial_kwargs=kwargs,
            expand_input=expand_input,
            into_op_kwargs=into_op_kwargs,
            **base,
        )
        return mapped

    def _shown_arguments(self) -> dict[str, Any]:
        """The arguments as the instances get them, expanded ones by their input."""
        shown = dict(self.partial_kwargs)
        expanded: dict[str, Any] = {}
        if isinstance(self.expand_input, DictOfListsExpandInput):
            expanded = dict(self.expand_input.value)
        if self.into_op_kwargs:
            shown["op_kwargs"] = {**(shown.get("op_kwargs") or {}), **expanded}
        else:
            shown.update(expanded)
        return shown

    def unmap(self, resolved: Resolved) -> BaseOperator:
        """The concrete operator of one instance, with ``resolved``'s values."""
        kwargs = dict(self.partial_kwargs)
        if self.into_op_kwargs:
            kwargs["op_kwargs"] = {**(kwargs.get("op_kwargs") or {}), **resolved.values}
        else:
            kwargs.update(resolved.values)
        kwargs.pop("task_id", None)
        operator = self.operator_class(task_id=self.task_id, **kwargs)
        _keep_verbatim(operator, resolved, self.into_op_kwargs)
        operator._dag = self._dag
        operator.task_group = self.task_group
        operator.upstream_task_ids = set(self.upstream_task_ids)
        operator.downstream_task_ids = set(self.downstream_task_ids)
        operator.is_setup, operator.is_teardown = self.is_setup, self.is_teardown
        operator.on_failure_fail_dagrun = self.on_failure_fail_dagrun
        return operator

    def __repr__(self) -> str:
        return f"<Mapped({self.operator_class.__name__}): {self.task_id}>"


class Verbatim(Resolvable):
    """A value taken as it is when templates render (it came from a pushed value)."""

    def __init__(self, value: Any):
        self.value = value

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)


def _keep_verbatim(operator: BaseOperator, resolved: Resolved, into_op_kwargs: bool) -> None:
    if into_op_kwargs:
        op_kwargs = getattr(operator, "op_kwargs", None)
        if isinstance(op_kwargs, dict):
            for name in resolved.verbatim & set(op_kwargs):
                op_kwargs[name] = Verbatim(op_kwargs[name])
        return
    for name in resolved.verbatim & set(operator.template_fields):
        setattr(operator, name, Verbatim(getattr(operator, name)))


# expanded_values of each DAG, with the task and group counts it was found for (a DAG
# still being built gains tasks): a try asks once for its DAG; found in a warm process
# before it forks tries, every try forked from it has it.
_expanded: weakref.WeakKeyDictionary[DAG, tuple[int, int, frozenset[tuple[str, str]]]] = (
    weakref.WeakKeyDictionary()
)


def expanded_values(dag: DAG) -> frozenset[tuple[str, str]]:
    """``(task_id, key)`` of every pushed value a mapped task or task group expands over."""
    sizes = (len(dag.task_dict), len(dag.task_group_dict))
    cached = _expanded.get(dag)
    if cached is not None and cached[:2] == sizes:
        return cached[2]
    found = _expanded_values(dag)
    _expanded[dag] = (*sizes, found)
    return found


def _expanded_values(dag: DAG) -> frozenset[tuple[str, str]]:
    inputs: list[ExpandInput] = [t.expand_input for t in dag.tasks if isinstance(t, MappedOperator)]
    inputs += [
        g.expand_input for g in dag.task_group.iter_groups() if isinstance(g, MappedTaskGroup)
    ]
    found: set[tuple[str, str]] = set()
    for expand_input in inputs:
        for reference in expand_input.references():
            found.update(_pushed(reference))
    return frozenset(found)


def _pushed(value: Resolvable) -> Iterator[tuple[str, str]]:
    if isinstance(value, XComArg):
        yield value.operator.task_id, value.key
    elif isinstance(value, MapXComArg):
        yield from _pushed(value.arg)
    elif isinstance(value, ZipXComArg | ConcatXComArg):
        for arg in value.args:
            yield from _pushed(arg)


def is_mapped(task: BaseOperator) -> bool:
    """Whether ``task`` has several instances: a mapped task or a task of a mapped group."""
    return isinstance(task, MappedOperator) or mapped_group_of(task.task_group) is not None
