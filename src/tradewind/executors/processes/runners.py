"""Helpers shared by the executors that run tries as local processes, and by those processes.

A *runner* is the function that runs one try inside its own process::

    runner(workload, channel, settings) -> None

It is named by a dotted path ``"module:function"`` so that a fresh interpreter (a fork server
or a child process) can import it; the executors themselves never import it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable

from tradewind.executors.base import Channel, ExecutorError
from tradewind.settings import Settings
from tradewind.workloads import Workload

DEFAULT_RUNNER = "tradewind.runtime.runner:run_workload"
# Seconds between SIGTERM and SIGKILL when a try is stopped (cancel, timeout, shutdown).
GRACE_PERIOD = 5.0

Runner = Callable[[Workload, Channel, Settings], None]
# A runner module's ``warm_file(dag_file)``: import the file ahead of its tries; returns the
# files whose change makes that import stale.
WarmFile = Callable[[str], list[str]]


def load_runner(path: str) -> Runner:
    """Import the runner named ``"module:function"``; a clear ExecutorError when it is not there."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ExecutorError(f"runner {path!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ExecutorError(f"cannot import the runner module {module_name!r}: {exc}") from exc
    runner = getattr(module, attr, None)
    if not callable(runner):
        raise ExecutorError(f"runner {path!r}: {module_name} has no function {attr!r}")
    found: Runner = runner
    return found


def run_try(runner: Runner, workload: Workload, channel: Channel, settings: Settings) -> int:
    """Run one try in this process and return the exit code its process should end with.

    0 when the runner returns; ``sys.exit``'s code; 1 (with the traceback on stderr) when it
    raises. Without a ``finished`` message on the channel, any of these makes the try lost.
    """
    try:
        runner(workload, channel, settings)
    except SystemExit as exc:
        return _exit_code(exc.code)
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        _flush_std_streams()
    return 0


def _exit_code(code: object) -> int:
    # What the interpreter would do with the same SystemExit.
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def describe_exit(code: int) -> str:
    """Why a process ended, from its exit code (negative: killed by that signal)."""
    if code >= 0:
        return f"process exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    if -code == signal.SIGKILL:
        # The kernel's OOM killer uses SIGKILL: the most common reason nobody asked for.
        return f"killed by {name} (out of memory?)"
    return f"killed by {name}"


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def warm_up(path: str, settings: Settings) -> None:
    """Call the runner module's ``warm_up(settings)``, if it has one, before any fork.

    What it imports (a database driver, say) is then shared by every forked try instead of
    being imported again by each. A failure here only costs speed, so it is reported and
    ignored.
    """
    module = importlib.import_module(path.partition(":")[0])
    hook = getattr(module, "warm_up", None)
    if not callable(hook):
        return
    try:
        hook(settings)
    except Exception as exc:
        print(f"tradewind fork server: warm-up failed, going on without it: {exc}", file=sys.stderr)


def warm_file_hook(path: str) -> WarmFile | None:
    """The runner module's ``warm_file``, wrapped so that it never raises (None: it has none).

    A DAG file that fails to import in a warm process only loses the head start: its tries
    import it themselves and report the failure as usual.
    """
    module = importlib.import_module(path.partition(":")[0])
    hook = getattr(module, "warm_file", None)
    if not callable(hook):
        return None

    def warm(dag_file: str) -> list[str]:
        try:
            files = hook(dag_file)
        except BaseException:  # the DAG file's own code runs here: it may raise anything
            return [dag_file]
        return [str(f) for f in files] if isinstance(files, list) else [dag_file]

    return warm
