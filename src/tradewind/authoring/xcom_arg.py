"""XComArg: a task's future return value, usable as an argument to other tasks."""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, overload

from tradewind.authoring.dependencies import DependencyMixin
from tradewind.exceptions import TradewindError

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator

RETURN_VALUE_KEY = "return_value"


class Resolvable(abc.ABC):
    """A placeholder in a template field whose value is only known when a task runs."""

    @abc.abstractmethod
    def resolve(self, context: Mapping[str, Any]) -> Any:
        """Return the value for the task instance described by ``context``."""

    def upstream_operators(self) -> list[BaseOperator]:
        """Tasks that must finish before this value exists."""
        return []


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()


class MapInputError(TradewindError, ValueError):
    """A value a mapped task expands over is missing or is not a list or a dict."""


class _Combinable(Resolvable):
    """``.map(fn)``, ``.zip(...)`` and ``.concat(...)`` of a value a task expands over."""

    def map(self, function: Callable[[Any], Any]) -> MapXComArg:
        """Each item passed through ``function`` when it is used (lazily, item by item)."""
        if not callable(function):
            raise TypeError(f"map() takes a function, not {function!r}")
        return MapXComArg(self, [function])

    def zip(self, *others: Resolvable, fillvalue: Any = NOTSET) -> ZipXComArg:
        """Tuples of this value's and ``others``' items: as many as the shortest, or with
        ``fillvalue`` as many as the longest."""
        return ZipXComArg([self, *others], fillvalue=fillvalue)

    def concat(self, *others: Resolvable) -> ConcatXComArg:
        """This value's items followed by ``others``' items."""
        return ConcatXComArg([self, *others])


class XComArg(_Combinable, DependencyMixin):
    """The XCom ``key`` (by default the return value) that ``operator`` pushes.

    Passing it to another task makes that task depend on ``operator``; ``arg["name"]`` selects
    one key of a task with ``multiple_outputs``. At run time it is pulled through
    ``context["ti"].xcom_pull(task_ids=..., key=...)``.
    """

    def __init__(self, operator: BaseOperator, key: str = RETURN_VALUE_KEY):
        self.operator = operator
        self.key = key

    @property
    def roots(self) -> list[BaseOperator]:
        return [self.operator]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def upstream_operators(self) -> list[BaseOperator]:
        return [self.operator]

    def as_setup(self) -> XComArg:
        """Make the task a setup task (see ``BaseOperator.as_setup``)."""
        self.operator.as_setup()
        return self

    def as_teardown(
        self,
        *,
        setups: DependencyMixin | Sequence[DependencyMixin] | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> XComArg:
        """Make the task a teardown task (see ``BaseOperator.as_teardown``)."""
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __getitem__(self, key: str) -> XComArg:
        if not isinstance(key, str):
            raise TypeError(f"XCom keys are strings, not {key!r}")
        return XComArg(self.operator, key)

    def __iter__(self) -> NoReturn:
        # Without this, Python would iterate through __getitem__(0), __getitem__(1), ... forever.
        raise TypeError(
            f"{self!r} is not iterable: its value only exists when the task runs; "
            "pass it to another task instead"
        )

    def resolve(self, context: Mapping[str, Any]) -> Any:
        try:
            ti = context["ti"]
        except KeyError:
            raise KeyError(f"cannot resolve {self!r}: the context has no 'ti'") from None
        return ti.xcom_pull(task_ids=self.operator.task_id, key=self.key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, XComArg):
            return NotImplemented
        return self.operator is other.operator and self.key == other.key

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))

    def __repr__(self) -> str:
        if self.key == RETURN_VALUE_KEY:
            return f"XComArg({self.operator.task_id!r})"
        return f"XComArg({self.operator.task_id!r}, key={self.key!r})"


def _check_parts(what: str, parts: Sequence[Any]) -> list[Resolvable]:
    for part in parts:
        if not isinstance(part, _Combinable):
            raise TypeError(f"{what}() takes the outputs of tasks (XComArgs), not {part!r}")
    return list(parts)


class MapXComArg(_Combinable):
    """``arg.map(fn)``: the items of ``arg``, each passed through the functions in turn."""

    def __init__(self, arg: Resolvable, callables: Sequence[Callable[[Any], Any]]):
        self.arg = arg
        self.callables = list(callables)

    def map(self, function: Callable[[Any], Any]) -> MapXComArg:
        if not callable(function):
            raise TypeError(f"map() takes a function, not {function!r}")
        return MapXComArg(self.arg, [*self.callables, function])

    def upstream_operators(self) -> list[BaseOperator]:
        return self.arg.upstream_operators()

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return MappedSequence(as_sequence(self.arg, context), self.callables)

    def __repr__(self) -> str:
        names = ", ".join(getattr(f, "__name__", repr(f)) for f in self.callables)
        return f"{self.arg!r}.map({names})"


class ZipXComArg(_Combinable):
    """``arg.zip(*others)``: tuples of the items at the same position."""

    def __init__(self, args: Sequence[Resolvable], *, fillvalue: Any = NOTSET):
        self.args = _check_parts("zip", args)
        self.fillvalue = fillvalue

    @property
    def longest(self) -> bool:
        return self.fillvalue is not NOTSET

    def upstream_operators(self) -> list[BaseOperator]:
        return [op for arg in self.args for op in arg.upstream_operators()]

    def resolve(self, context: Mapping[str, Any]) -> Any:
        parts = [as_sequence(arg, context) for arg in self.args]
        return ZippedSequence(parts, self.fillvalue)

    def __repr__(self) -> str:
        head, *rest = self.args
        fill = "" if not self.longest else f", fillvalue={self.fillvalue!r}"
        return f"{head!r}.zip({', '.join(repr(arg) for arg in rest)}{fill})"


class ConcatXComArg(_Combinable):
    """``arg.concat(*others)``: the items of each in turn."""

    def __init__(self, args: Sequence[Resolvable]):
        self.args = _check_parts("concat", args)

    def upstream_operators(self) -> list[BaseOperator]:
        return [op for arg in self.args for op in arg.upstream_operators()]

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return ConcatSequence([as_sequence(arg, context) for arg in self.args])

    def __repr__(self) -> str:
        head, *rest = self.args
        return f"{head!r}.concat({', '.join(repr(arg) for arg in rest)})"


def as_sequence(value: Any, context: Mapping[str, Any]) -> Sequence[Any]:
    """What a task expands over, as a sequence: a list as it is, a dict as its ``(key,
    value)`` pairs; an XComArg resolved first (a mapped task's values come lazily)."""
    what = repr(value)
    if isinstance(value, Resolvable):
        value = value.resolve(context)
        if value is None:
            raise MapInputError(f"{what} has no value to expand over: nothing was pushed")
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    raise MapInputError(
        f"{what} cannot be expanded over: it is a {type(value).__name__}, not a list or a dict"
    )


class LazySequence(Sequence[Any]):
    """A read-only sequence computed item by item (never a list of everything at once)."""

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self.item(i) for i in range(*index.indices(len(self)))]
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError(f"index {index} out of range (length {size})")
        return self.item(position)

    @abc.abstractmethod
    def item(self, position: int) -> Any:
        """The item at ``0 <= position < len(self)``."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} items>"


class MappedSequence(LazySequence):
    def __init__(self, source: Sequence[Any], callables: Sequence[Callable[[Any], Any]]):
        self.source = source
        self.callables = list(callables)

    def __len__(self) -> int:
        return len(self.source)

    def _apply(self, value: Any) -> Any:
        for function in self.callables:
            value = function(value)
        return value

    def item(self, position: int) -> Any:
        return self._apply(self.source[position])

    def __iter__(self) -> Iterator[Any]:
        return (self._apply(value) for value in self.source)


class ZippedSequence(LazySequence):
    def __init__(self, parts: Sequence[Sequence[Any]], fillvalue: Any = NOTSET):
        self.parts = list(parts)
        self.fillvalue = fillvalue
        sizes = [len(part) for part in self.parts]
        longest = fillvalue is not NOTSET
        self._size = (max(sizes) if longest else min(sizes)) if sizes else 0

    def __len__(self) -> int:
        return self._size

    def item(self, position: int) -> Any:
        return tuple(
            part[position] if position < len(part) else self.fillvalue for part in self.parts
        )

    def __iter__(self) -> Iterator[Any]:
        if self.fillvalue is NOTSET:
            return zip(*self.parts, strict=False)
        return itertools.zip_longest(*self.parts, fillvalue=self.fillvalue)


class ConcatSequence(LazySequence):
    def __init__(self, parts: Sequence[Sequence[Any]]):
        self.parts = list(parts)

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def item(self, position: int) -> Any:
        for part in self.parts:
            if position < len(part):
                return part[position]
            position -= len(part)
        raise IndexError(position)

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self.parts)


def find_resolvables(value: Any) -> Iterator[Resolvable]:
    """Every Resolvable inside ``value``, looking into lists, tuples, sets and dict values."""
    if isinstance(value, Resolvable):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from find_resolvables(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from find_resolvables(item)
