"""PythonOperator and the operators that decide which downstream tasks run."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from tradewind.authoring.baseoperator import BaseOperator
from tradewind.authoring.callables import bind_python_callable, call_with_context
from tradewind.exceptions import SkipDownstream, TaskError


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
        return call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)


def _as_task_ids(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, Iterable) and all(isinstance(item, str) for item in value):
        return set(value)
    raise TaskError(
        f"a branch callable must return a task id, a list of task ids or None: {value!r}"
    )


class BranchPythonOperator(PythonOperator):
    """Runs a callable that returns the task id(s) to follow; other direct downstream tasks skip.

    The callable may also return a task group id (its first tasks are followed) or None
    (every downstream task is skipped). Join branches with a trigger rule such as
    ``none_failed_min_one_success``.
    """

    ui_color = "#ffefeb"

    def execute(self, context: Mapping[str, Any]) -> Any:
        chosen = super().execute(context)
        follow: set[str] = set()
        dag = self._require_dag()
        for branch in _as_task_ids(chosen):
            group = dag.task_group_dict.get(branch)
            if group is not None:
                follow.update(task.task_id for task in group.roots)
            elif branch in self.downstream_task_ids:
                follow.add(branch)
            else:
                valid = ", ".join(sorted(self.downstream_task_ids)) or "none"
                raise TaskError(
                    f"branch task {self.task_id!r} chose {branch!r}, which is not one of its "
                    f"direct downstream tasks ({valid})"
                )
        skip = self.downstream_task_ids - follow
        if skip:
            raise SkipDownstream(skip, xcom_value=chosen)
        return chosen


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
