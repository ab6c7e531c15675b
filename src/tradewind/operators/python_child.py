"""Running a Python function in another interpreter: its source, its arguments and its result.

The function's source (without its decorators) goes into a small script; its arguments are
serialized with ``pickle`` (or ``cloudpickle`` / ``dill``) into a file; the other interpreter
runs the script, which writes the return value, or the exception's name and message, to files
that this process reads back. The child's output goes to the task's log line by line.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import json
import logging
import os
import signal
import subprocess
import textwrap
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tradewind.exceptions import FailTask, SkipTask, TaskError

log = logging.getLogger(__name__)

SERIALIZERS = ("pickle", "cloudpickle", "dill")
# Exceptions raised in the child that mean "skip this task" or "fail it without retries", by
# class name: the child may have neither tradewind nor Airflow installed.
_SKIP_NAMES = frozenset({"AirflowSkipException", "SkipTask"})
_FAIL_NAMES = frozenset({"AirflowFailException", "FailTask"})

_SCRIPT = """\
import json
import sys
import traceback

import {serializer}

virtualenv_string_args = json.loads({string_args!r})

{source}


def _tradewind_main():
    args_path, result_path, error_path = sys.argv[1:4]
    with open(args_path, "rb") as file:
        arguments = {serializer}.load(file)
    try:
        result = {name}(*arguments["args"], **arguments["kwargs"])
    except SystemExit:
        raise
    except BaseException as exc:
        names = [kind.__name__ for kind in type(exc).__mro__]
        with open(error_path, "w") as file:
            json.dump({{"names": names, "message": str(exc)}}, file)
        traceback.print_exc()
        sys.exit(1)
    with open(result_path, "wb") as file:
        {serializer}.dump(result, file)


if __name__ == "__main__":
    _tradewind_main()
"""


def callable_source(function: Callable[..., Any]) -> str:
    """The source of a function defined with ``def``, without its decorators."""
    if not inspect.isfunction(function) or function.__name__ == "<lambda>":
        raise TypeError(
            f"only a function defined with def can run in another interpreter, not {function!r}"
        )
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as exc:
        raise TypeError(f"the source of {function.__name__!r} is not available: {exc}") from None
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.FunctionDef):
        raise TypeError(f"{function.__name__!r} must be a plain (not async) function")
    # The def line, after any decorators (which may not exist in the other interpreter).
    return "\n".join(source.splitlines()[node.lineno - 1 :])


def serializer_module(name: str) -> ModuleType:
    """The module that serializes arguments and results (``pickle``, ``cloudpickle``, ``dill``)."""
    if name not in SERIALIZERS:
        raise ValueError(f"serializer must be one of {', '.join(SERIALIZERS)}, not {name!r}")
    try:
        return importlib.import_module(name)
    except ImportError:
        raise TaskError(f"serializer {name!r} is not installed here (pip install {name})") from None


@dataclass(frozen=True)
class ChildCall:
    """What to run in the child: the function, its arguments and how to serialize them."""

    function: Callable[..., Any]
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    serializer: str = "pickle"
    string_args: Sequence[str] = ()


def run_in_child(
    python: str | Path, call: ChildCall, folder: Path, skip_on_exit_code: Collection[int]
) -> Any:
    """Run ``call`` with the interpreter ``python``, its files in ``folder``; its result.

    Raises SkipTask or FailTask for the exceptions that mean so (and SkipTask for an exit code
    in ``skip_on_exit_code``), TaskError for any other failure.
    """
    module = serializer_module(call.serializer)
    script = folder / "script.py"
    args_path, result_path, error_path = (folder / n for n in ("args.bin", "result", "error"))
    script.write_text(
        _SCRIPT.format(
            serializer=call.serializer,
            string_args=json.dumps([str(item) for item in call.string_args]),
            source=callable_source(call.function),
            name=call.function.__name__,
        )
    )
    with args_path.open("wb") as file:
        module.dump({"args": list(call.args), "kwargs": dict(call.kwargs)}, file)
    argv = [str(python), str(script), str(args_path), str(result_path), str(error_path)]
    code = run_logged(argv, cwd=folder)
    if code in skip_on_exit_code:
        raise SkipTask(f"the Python process exited with code {code}: skipping the task")
    if error_path.exists():
        raise _child_error(json.loads(error_path.read_text()))
    if code != 0:
        raise TaskError(f"the Python process exited with code {code}")
    with result_path.open("rb") as file:
        return module.load(file)


def _child_error(error: Mapping[str, Any]) -> Exception:
    names = [str(name) for name in error.get("names", [])]
    message = str(error.get("message", ""))
    if _SKIP_NAMES.intersection(names):
        return SkipTask(message or "the function asked to skip the task")
    if _FAIL_NAMES.intersection(names):
        return FailTask(message or "the function asked to fail the task")
    kind = names[0] if names else "Exception"
    return TaskError(f"{kind}: {message}" if message else kind)


def run_logged(argv: Sequence[str], *, cwd: Path | None = None) -> int:
    """Run ``argv`` in its own process group, each output line to the log; its exit code.

    If this process is interrupted (a timeout, SIGTERM), the child's group is killed first.
    """
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            log.info("%s", raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n"))
        return process.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        if process.stdout is not None:
            process.stdout.close()
