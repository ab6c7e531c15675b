"""PythonVirtualenvOperator and ExternalPythonOperator: a Python function run by another
interpreter (a venv made for the task, or one that is already installed).

The try still runs in its own process; that process starts the other interpreter with the
function's source and its arguments (see :mod:`tradewind.operators.python_child`), and pushes
what the function returns as the XCom. The function must be self-contained: it imports what it
needs inside its body, and sees only its arguments and the context values it names (those that
are plain values: ``ds``, ``ts``, ``run_id``, ``params``, the dates as datetimes...).
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tradewind.authoring.callables import context_arguments
from tradewind.exceptions import TaskError
from tradewind.operators import venvs
from tradewind.operators.branch import follow_branches
from tradewind.operators.python import PythonOperator
from tradewind.operators.python_child import SERIALIZERS, ChildCall, callable_source, run_in_child

log = logging.getLogger(__name__)

VENV_CACHE_KEY = "tradewind_venv_cache_folder"
"""Context entry the task runner sets to ``core.venv_cache_folder``."""

_PLAIN = (str, int, float, bool, type(None))
_DICTS = ("params", "conf", "templates_dict")


def child_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context values another interpreter can receive: plain values, the dates (as stdlib
    datetimes, which need no pendulum there) and the params/conf dicts."""
    found: dict[str, Any] = {}
    for key, value in context.items():
        if key == VENV_CACHE_KEY:
            continue
        if isinstance(value, dt.datetime):
            found[key] = dt.datetime.fromisoformat(value.isoformat())
        elif isinstance(value, _PLAIN):
            found[key] = value
        elif key in _DICTS and isinstance(value, Mapping):
            found[key] = dict(value)
    return found


def _exit_codes(value: int | Collection[int] | None) -> frozenset[int]:
    if value is None:
        return frozenset()
    if isinstance(value, int):
        return frozenset({value})
    return frozenset(value)


class _ChildPythonOperator(PythonOperator):
    """What both operators share: the call, its serializer, skip codes and the result."""

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        serializer: str | None = None,
        use_dill: bool = False,
        skip_on_exit_code: int | Collection[int] | None = None,
        string_args: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        serializer = serializer or ("dill" if use_dill else "pickle")
        if serializer not in SERIALIZERS:
            raise self._error(
                f"task {self.task_id!r}: serializer must be one of {', '.join(SERIALIZERS)}, "
                f"not {serializer!r}"
            )
        try:
            callable_source(python_callable)
        except TypeError as exc:
            raise self._error(f"task {self.task_id!r}: {exc}") from None
        self.serializer = serializer
        self.skip_on_exit_code = _exit_codes(skip_on_exit_code)
        self.string_args = list(string_args or [])
        self.show_return_value_in_logs = bool(show_return_value_in_logs)

    def execute_callable(self, context: Mapping[str, Any]) -> Any:
        extra = context_arguments(
            self.python_callable, self.op_args, self.op_kwargs, child_context(context)
        )
        call = ChildCall(
            self.python_callable,
            self.op_args,
            {**self.op_kwargs, **extra},
            self.serializer,
            self.string_args,
        )
        with tempfile.TemporaryDirectory(prefix="tradewind-python-") as folder:
            python = self.interpreter(context, Path(folder))
            result = run_in_child(python, call, Path(folder), self.skip_on_exit_code)
        if self.show_return_value_in_logs:
            log.info("Done. Returned value was: %r", result)
        return result

    def interpreter(self, context: Mapping[str, Any], scratch: Path) -> Path:
        """The Python interpreter to run the function with (``scratch`` lives for the try)."""
        raise NotImplementedError


class PythonVirtualenvOperator(_ChildPythonOperator):
    """Runs ``python_callable`` in a virtual environment with ``requirements`` installed.

    ``python_version`` picks the interpreter (``python3.12`` on PATH; this one by default);
    ``system_site_packages`` (True by default) lets the venv see that interpreter's packages.
    Venvs are cached by a hash of what defines them, in ``venv_cache_path`` or else in the
    ``core.venv_cache_folder`` setting, so only the first try that needs one builds it.
    Arguments and the result travel with ``serializer`` (pickle; cloudpickle and dill are
    added to the requirements when chosen). An exit code in ``skip_on_exit_code``, or
    AirflowSkipException raised in the function, skips the task; AirflowFailException fails
    it without retries.
    """

    template_fields: ClassVar[Sequence[str]] = (
        *PythonOperator.template_fields,
        "requirements",
        "index_urls",
        "venv_cache_path",
    )

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        requirements: Sequence[str] | str | None = None,
        python_version: str | int | float | None = None,
        system_site_packages: bool = True,
        pip_install_options: Sequence[str] | None = None,
        index_urls: Sequence[str] | str | None = None,
        venv_cache_path: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        self.requirements = requirements
        self.python_version = python_version
        self.system_site_packages = bool(system_site_packages)
        self.pip_install_options = list(pip_install_options or [])
        self.index_urls = [index_urls] if isinstance(index_urls, str) else list(index_urls or [])
        self.venv_cache_path = venv_cache_path

    def spec(self) -> venvs.VenvSpec:
        requirements = venvs.requirement_lines(self.requirements)
        if self.serializer != "pickle" and not any(
            line.lower().startswith(self.serializer) for line in requirements
        ):
            requirements += (self.serializer,)
        return venvs.VenvSpec(
            python=venvs.base_python(self.python_version),
            requirements=requirements,
            system_site_packages=self.system_site_packages,
            pip_install_options=tuple(self.pip_install_options),
            index_urls=tuple(self.index_urls),
        )

    def interpreter(self, context: Mapping[str, Any], scratch: Path) -> Path:
        spec = self.spec()
        cache = self.venv_cache_path or context.get(VENV_CACHE_KEY)
        if cache:
            return venvs.cached_venv(spec, Path(cache))
        return venvs.build_venv(spec, scratch / "venv")


class ExternalPythonOperator(_ChildPythonOperator):
    """Runs ``python_callable`` with the interpreter at ``python`` (a path to an existing
    venv's ``bin/python``, say); otherwise as PythonVirtualenvOperator.

    ``expect_airflow`` is accepted for compatibility; the function never needs Airflow.
    """

    template_fields: ClassVar[Sequence[str]] = (*PythonOperator.template_fields, "python")

    def __init__(
        self,
        *,
        python: str,
        python_callable: Callable[..., Any],
        expect_airflow: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if not isinstance(python, str) or not python:
            raise self._error(f"task {self.task_id!r}: python must be the path of an interpreter")
        self.python = python
        self.expect_airflow = bool(expect_airflow)

    def interpreter(self, context: Mapping[str, Any], scratch: Path) -> Path:
        path = Path(self.python)
        if not path.is_file():
            raise TaskError(f"task {self.task_id!r}: python {self.python!r} does not exist")
        return path


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator):
    """A PythonVirtualenvOperator whose function returns the task id(s) to follow."""

    def execute(self, context: Mapping[str, Any]) -> Any:
        return follow_branches(self, super().execute(context))


class BranchExternalPythonOperator(ExternalPythonOperator):
    """An ExternalPythonOperator whose function returns the task id(s) to follow."""

    def execute(self, context: Mapping[str, Any]) -> Any:
        return follow_branches(self, super().execute(context))
