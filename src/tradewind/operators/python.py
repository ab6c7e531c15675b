"""PythonOperator and the operators that decide which downstream tasks run."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar

from tradewind.authoring.assets import Metadata
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.callables import bind_python_callable, call_with_context
from tradewind.exceptions import SkipDownstream
from tradewind.operators.branch import follow_branches

log = logging.getLogger(__name__)


class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)`` and returns its result (the XCom).

    The callable also receives the context values its signature names (``ti``, ``ds``,
    ``params``...), or the whole context if it takes ``**kwargs``. ``templates_dict`` is
    rendered and handed over as the ``templates_dict`` context value.
    """

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")
    ui_color = "#ffefeb"

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

    def execute(self, context: Mapping[str, Any]) -> Any:
        context = {**context, "templates_dict": self.templates_dict}
        return self.execute_callable(context)

    def execute_callable(self, context: Mapping[str, Any]) -> Any:
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if inspect.isgenerator(result):
            return _drain(result, context)
        return result


def _drain(generator: Generator[Any, Any, Any], context: Mapping[str, Any]) -> Any:
    """A callable that yields: each ``Metadata`` it yields goes to its outlet's event (Airflow
    2.10's ``yield Metadata(asset, extra)``); its return value is the task's."""
    outlet_events = context.get("outlet_events")
    while True:
        try:
            item = next(generator)
        except StopIteration as done:
            return done.value
        if isinstance(item, Metadata) and outlet_events is not None:
            outlet_events.take(item)
        else:
            log.warning("ignoring what the callable yielded: %r (only Metadata is taken)", item)


class BranchPythonOperator(PythonOperator):
    """Runs a callable that returns the task id(s) to follow; other direct downstream tasks skip.

    The callable may also return a task group id (its first tasks are followed) or None
    (every downstream task is skipped). Join branches with a trigger rule such as
    ``none_failed_min_one_success``.
    """

    ui_color = "#ffefeb"

    def execute(self, context: Mapping[str, Any]) -> Any:
        return follow_branches(self, super().execute(context))


class ShortCircuitOperator(PythonOperator):
    """Runs a callable; a falsy result skips the downstream tasks.

    With ``ignore_downstream_trigger_rules=True`` (the default) every task downstream is
    skipped, however far; with False only the direct downstream tasks are, and the others
    follow their trigger rules.
    """

    ui_color = "#ffefeb"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = bool(ignore_downstream_trigger_rules)

    def execute(self, context: Mapping[str, Any]) -> Any:
        result = super().execute(context)
        if result:
            return result
        if self.ignore_downstream_trigger_rules:
            skip = self.get_flat_relative_ids(upstream=False)
        else:
            skip = set(self.downstream_task_ids)
        if skip:
            raise SkipDownstream(skip, xcom_value=result)
        return result
