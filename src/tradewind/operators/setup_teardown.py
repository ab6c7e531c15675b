"""``@setup`` and ``@teardown``: TaskFlow decorators whose tasks are setup or teardown tasks.

Both take a plain function (it runs as ``@task`` does) or an already decorated one
(``@setup`` over ``@task.bash``); ``@teardown(on_failure_fail_dagrun=True)`` makes the
teardown's failure fail the run. See :mod:`tradewind.authoring.setup_teardown`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tradewind.authoring.xcom_arg import XComArg
from tradewind.operators.taskflow import TaskDecorator, task


class _SetupTeardownDecorator:
    """A task decorator whose every call makes a setup (or teardown) task."""

    def __init__(
        self, inner: TaskDecorator, *, teardown: bool, on_failure_fail_dagrun: bool = False
    ) -> None:
        self.inner = inner
        self.teardown = teardown
        self.on_failure_fail_dagrun = on_failure_fail_dagrun
        functools.update_wrapper(self, inner.function)

    def override(self, **operator_kwargs: Any) -> _SetupTeardownDecorator:
        """A copy with other operator arguments, still a setup (or teardown)."""
        return _SetupTeardownDecorator(
            self.inner.override(**operator_kwargs),
            teardown=self.teardown,
            on_failure_fail_dagrun=self.on_failure_fail_dagrun,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        made = self.inner(*args, **kwargs)
        if self.teardown:
            made.operator.as_teardown(on_failure_fail_dagrun=self.on_failure_fail_dagrun)
        else:
            made.operator.as_setup()
        return made


def _as_task(function: Callable[..., Any]) -> TaskDecorator:
    if isinstance(function, _SetupTeardownDecorator):
        raise TypeError("a task cannot be both a setup and a teardown")
    return function if isinstance(function, TaskDecorator) else task(function)


def setup(function: Callable[..., Any]) -> _SetupTeardownDecorator:
    """``@setup``: each call of the decorated function adds a setup task."""
    return _SetupTeardownDecorator(_as_task(function), teardown=False)


def teardown(
    function: Callable[..., Any] | None = None, *, on_failure_fail_dagrun: bool = False
) -> Any:
    """``@teardown`` or ``@teardown(on_failure_fail_dagrun=True)``: each call adds a teardown."""

    def decorate(inner: Callable[..., Any]) -> _SetupTeardownDecorator:
        return _SetupTeardownDecorator(
            _as_task(inner), teardown=True, on_failure_fail_dagrun=on_failure_fail_dagrun
        )

    return decorate if function is None else decorate(function)
