"""XComArg: a task's future return value, usable as an argument to other tasks."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from tradewind.authoring.dependencies import DependencyMixin

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


class XComArg(Resolvable, DependencyMixin):
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
