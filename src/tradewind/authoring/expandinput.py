"""What a mapped task (or a mapped task group) expands over, and the values of one instance.

``expand(x=[1, 2], y=up())`` gives a :class:`DictOfListsExpandInput`: one instance per item of
the cross product of its arguments, the LAST argument varying fastest. ``expand_kwargs(...)``
gives a :class:`ListOfDictsExpandInput`: one instance per dict of a list. A literal list counts
its items, a literal dict its ``(key, value)`` pairs; an XComArg (with ``.map``, ``.zip``,
``.concat``) is only known when the instance runs, and :meth:`resolve` then reads its values.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tradewind.authoring.callables import KNOWN_CONTEXT_KEYS
from tradewind.authoring.xcom_arg import (
    NOTSET,
    MapInputError,
    Resolvable,
    as_sequence,
    find_resolvables,
)

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator


def is_mappable(value: Any) -> bool:
    """Whether ``value`` can be expanded over: a list, tuple or dict literal, or an XComArg."""
    return isinstance(value, list | tuple | dict | Resolvable)


@dataclass(frozen=True)
class Resolved:
    """The arguments of one instance; ``verbatim`` names those that came from a pushed value
    (they are not rendered as templates, as in Airflow)."""

    values: dict[str, Any]
    verbatim: frozenset[str] = frozenset()
    # How many instances the input gives (Airflow's ``expanded_ti_count``).
    count: int | None = None


def _map_index(context: Mapping[str, Any]) -> int:
    try:
        index = int(context["ti"].map_index)
    except (KeyError, AttributeError):
        raise MapInputError("cannot expand: the context has no task instance") from None
    if index < 0:
        raise MapInputError("cannot expand: this task instance has no map index (-1)")
    return index


def _out_of_range(index: int, size: int) -> MapInputError:
    return MapInputError(f"map index {index} is out of range: the input has {size} items")


@dataclass(frozen=True)
class DictOfListsExpandInput:
    """``expand(name=values, ...)``: the cross product of the values (last name fastest)."""

    value: Mapping[str, Any]

    def names(self) -> list[str]:
        return list(self.value)

    def references(self) -> Iterator[Resolvable]:
        for item in self.value.values():
            yield from find_resolvables(item)

    def resolve(self, context: Mapping[str, Any], index: int | None = None) -> Resolved:
        """The arguments of instance ``index`` (by default the context's ``ti.map_index``)."""
        index = _map_index(context) if index is None else index
        sequences = {name: as_sequence(item, context) for name, item in self.value.items()}
        total = math.prod(len(sequence) for sequence in sequences.values())
        if not 0 <= index < total:
            raise _out_of_range(index, total)
        values: dict[str, Any] = {}
        rest = index
        for name in reversed(list(sequences)):
            sequence = sequences[name]
            rest, position = divmod(rest, len(sequence))
            values[name] = sequence[position]
        verbatim = frozenset(n for n, item in self.value.items() if isinstance(item, Resolvable))
        return Resolved({name: values[name] for name in self.value}, verbatim, total)


@dataclass(frozen=True)
class ListOfDictsExpandInput:
    """``expand_kwargs(list_of_dicts or an XComArg)``: one instance per dict."""

    value: Any
    # Names every dict may set (a mapped group's function parameters); None: any.
    known: frozenset[str] | None = field(default=None)

    def references(self) -> Iterator[Resolvable]:
        yield from find_resolvables(self.value)

    def resolve(self, context: Mapping[str, Any], index: int | None = None) -> Resolved:
        index = _map_index(context) if index is None else index
        sequence = as_sequence(self.value, context)
        if not 0 <= index < len(sequence):
            raise _out_of_range(index, len(sequence))
        item = sequence[index]
        if isinstance(item, Resolvable):
            item = item.resolve(context)
        if not isinstance(item, Mapping) or not all(isinstance(key, str) for key in item):
            raise MapInputError(
                f"expand_kwargs() needs a dict of argument names for each instance; item "
                f"{index} is {item!r}"
            )
        values: dict[str, Any] = {}
        for key, value in item.items():
            values[key] = value.resolve(context) if isinstance(value, Resolvable) else value
        from_xcom = isinstance(self.value, Resolvable)
        verbatim = frozenset(
            key for key, value in item.items() if from_xcom or isinstance(value, Resolvable)
        )
        return Resolved(values, verbatim, len(sequence))


ExpandInput = DictOfListsExpandInput | ListOfDictsExpandInput


class MappedArgument(Resolvable):
    """A parameter of a mapped task group's function: each instance's own value of it."""

    def __init__(self, expand_input: ExpandInput, name: str, default: Any = NOTSET):
        self.expand_input = expand_input
        self.name = name
        self.default = default

    def upstream_operators(self) -> list[BaseOperator]:
        return [op for ref in self.expand_input.references() for op in ref.upstream_operators()]

    def resolve(self, context: Mapping[str, Any]) -> Any:
        values = self.expand_input.resolve(context).values
        if self.name not in values:
            if self.default is not NOTSET:
                return self.default
            raise MapInputError(f"the mapped task group's input has no argument {self.name!r}")
        return values[self.name]

    def __repr__(self) -> str:
        return f"MappedArgument({self.name!r})"


def check_literal(owner: str, name: str, value: Any) -> None:
    """Refuse what cannot be expanded over, as Airflow does (a ValueError naming it)."""
    if not is_mappable(value):
        raise ValueError(
            f"{owner}.expand() got an unexpected type {type(value).__name__!r} for keyword "
            f"argument {name!r} (expand over a list, a dict or a task's output)"
        )


def check_kwargs_input(owner: str, value: Any) -> None:
    """Refuse an ``expand_kwargs`` input that is neither a list of dicts nor an XComArg."""
    if isinstance(value, Resolvable):
        return
    if not isinstance(value, list | tuple):
        raise ValueError(
            f"{owner}.expand_kwargs() takes a list of dicts or a task's output, not "
            f"{type(value).__name__!r}"
        )
    for item in value:
        if not isinstance(item, dict | Resolvable):
            raise ValueError(f"{owner}.expand_kwargs() takes a list of dicts; got an item {item!r}")


class FunctionPartial:
    """A decorated function's ``partial(...)`` (a ``@task`` or a ``@task_group``): the
    arguments its mapped instances share, checked against the function's signature, and the
    checks of what ``expand(...)`` adds."""

    def __init__(self, function: Callable[..., Any], kwargs: Mapping[str, Any]):
        self.function = function
        self.kwargs = dict(kwargs)
        self._parameters = inspect.signature(function).parameters
        self._check_names("partial", self.kwargs)

    @property
    def _name(self) -> str:
        return self.function.__name__

    def _check_names(self, method: str, names: Mapping[str, Any]) -> None:
        if any(p.kind is p.VAR_KEYWORD for p in self._parameters.values()):
            return
        unknown = [name for name in names if name not in self._parameters]
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            raise TypeError(f"{self._name}.{method}() got unexpected keyword argument(s) {listed}")

    def _check_expand(self, mapped: Mapping[str, Any]) -> None:
        """What ``expand(**mapped)`` may not be given: nothing, unknown or repeated names,
        literals that are not lists or dicts."""
        if not mapped:
            raise TypeError(f"{self._name}.expand() needs at least one keyword argument")
        self._check_names("expand", mapped)
        repeated = sorted(set(mapped) & set(self.kwargs))
        if repeated:
            raise TypeError(
                f"{self._name}.expand() got {', '.join(map(repr, repeated))}, already given to "
                "partial()"
            )
        for name, value in mapped.items():
            check_literal(self._name, name, value)

    def _check_complete(self, mapped: Collection[str]) -> None:
        """Every argument without a default is given, to partial() or expand()."""
        missing = [
            name
            for name, p in self._parameters.items()
            if p.default is p.empty
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            and name not in self.kwargs
            and name not in mapped
            and name not in KNOWN_CONTEXT_KEYS
        ]
        if missing:
            raise TypeError(
                f"{self._name}() is missing argument(s) {', '.join(map(repr, missing))}"
            )
