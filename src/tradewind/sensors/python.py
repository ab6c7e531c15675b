"""PythonSensor: waits until a Python callable returns something truthy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from tradewind.authoring.callables import bind_python_callable, call_with_context
from tradewind.sensors.base import BaseSensorOperator, PokeReturnValue


class PythonSensor(BaseSensorOperator):
    """Pokes by calling ``python_callable(*op_args, **op_kwargs)`` (plus context it names).

    A truthy result ends the wait; a PokeReturnValue also carries the XCom value.
    """

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable: Callable[..., Any]
        self.op_args: list[Any]
        self.op_kwargs: dict[str, Any]
        self.templates_dict: dict[str, Any] | None
        bind_python_callable(self, python_callable, op_args, op_kwargs, templates_dict)

    def poke(self, context: Mapping[str, Any]) -> bool | PokeReturnValue:
        context = {**context, "templates_dict": self.templates_dict}
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if isinstance(result, PokeReturnValue):
            return result
        return bool(result)
