"""BashOperator: run a shell command with bash and return the last line it printed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tradewind.authoring.baseoperator import BaseOperator
from tradewind.exceptions import SkipTask, TaskError

log = logging.getLogger(__name__)


class BashOperator(BaseOperator):
    """Runs ``bash -c bash_command`` in its own process group and returns the last output line.

    ``env`` replaces the environment unless ``append_env=True`` adds it to the inherited one.
    An exit code in ``skip_on_exit_code`` (99 by default) marks the task skipped; any other
    non-zero code fails it. A command ending in ``.sh`` or ``.bash`` names a template file.
    The ``TRADEWIND_CTX_*`` variables tell the command which task instance it runs for.
    ``output_processor``, if given, is applied to the last line and its result is returned
    (and pushed as the XCom) instead: ``output_processor=json.loads``.
    """

    template_fields: ClassVar[Sequence[str]] = ("bash_command", "env", "cwd")
    template_ext: ClassVar[Sequence[str]] = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: Mapping[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | Collection[int] | None = 99,
        output_encoding: str = "utf-8",
        output_processor: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(skip_on_exit_code, int):
            skip_codes = frozenset({skip_on_exit_code})
        elif skip_on_exit_code is None:
            skip_codes = frozenset()
        else:
            skip_codes = frozenset(skip_on_exit_code)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.cwd = cwd
        self.skip_on_exit_code = skip_codes
        self.output_encoding = output_encoding
        if output_processor is not None and not callable(output_processor):
            raise self._error(
                f"task {self.task_id!r}: output_processor must be callable, "
                f"not {output_processor!r}"
            )
        self.output_processor = output_processor
        self._process: subprocess.Popen[bytes] | None = None

    def execute(self, context: Mapping[str, Any]) -> Any:
        command = self.bash_command
        if not isinstance(command, str) or not command.strip():
            raise TaskError(f"task {self.task_id!r}: bash_command is empty")
        if self.cwd is not None and not Path(self.cwd).is_dir():
            raise TaskError(f"task {self.task_id!r}: cwd {self.cwd!r} is not a directory")
        argv, env = self._command_line(command, context)
        log.info("Running command: %s", command)
        last_line = ""
        with subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            start_new_session=True,
        ) as process:
            self._process = process
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.decode(self.output_encoding, errors="backslashreplace").rstrip("\r\n")
                log.info("%s", line)
                last_line = line
            code = process.wait()
        self._process = None
        log.info("Command exited with return code %s", code)
        if code in self.skip_on_exit_code:
            raise SkipTask(f"bash command exited with code {code}: skipping the task")
        if code != 0:
            raise TaskError(f"bash command failed: exit code {code}")
        if self.output_processor is not None:
            return self.output_processor(last_line)
        return last_line

    def _command_line(
        self, command: str, context: Mapping[str, Any]
    ) -> tuple[list[str], dict[str, str] | None]:
        extra = _context_variables(self, context)
        if self.env is not None:
            if not isinstance(self.env, Mapping) or not all(
                isinstance(k, str) and k and "=" not in k and isinstance(v, str)
                for k, v in self.env.items()
            ):
                raise TaskError(
                    f"task {self.task_id!r}: env must map variable names to strings: {self.env!r}"
                )
            extra.update(self.env)
        if self.env is not None and not self.append_env:
            return ["bash", "-c", command], extra
        # Inherit the task process's environment and add to it; env(1) does the merge, so
        # the operator itself never reads os.environ.
        assignments = [f"{key}={value}" for key, value in extra.items()]
        return ["env", "--", *assignments, "bash", "-c", command], None

    def on_kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)


def _context_variables(task: BaseOperator, context: Mapping[str, Any]) -> dict[str, str]:
    found = {
        "TRADEWIND_CTX_DAG_ID": task.dag_id,
        "TRADEWIND_CTX_TASK_ID": task.task_id,
        "TRADEWIND_CTX_RUN_ID": context.get("run_id"),
        "TRADEWIND_CTX_LOGICAL_DATE": context.get("logical_date"),
        "TRADEWIND_CTX_TRY_NUMBER": getattr(context.get("ti"), "try_number", None),
    }
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else str(value)
        for key, value in found.items()
        if value is not None
    }
