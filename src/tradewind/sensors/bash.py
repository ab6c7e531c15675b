"""BashSensor: waits until a bash command exits with code 0."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tradewind.exceptions import FailTask, TaskError
from tradewind.sensors.base import BaseSensorOperator

log = logging.getLogger(__name__)


class BashSensor(BaseSensorOperator):
    """Pokes by running ``bash -c bash_command`` in a fresh temporary folder; done on exit 0.

    With ``retry_exit_code=None`` (the default) any other exit code means "not yet". With
    ``retry_exit_code=N``, exit code N means "not yet" and any other non-zero code fails the
    task at once, without retries. ``env`` replaces the inherited environment when given.
    """

    template_fields: ClassVar[Sequence[str]] = ("bash_command", "env")
    template_ext: ClassVar[Sequence[str]] = (".sh", ".bash")

    def __init__(
        self,
        *,
        bash_command: str,
        env: Mapping[str, str] | None = None,
        output_encoding: str = "utf-8",
        retry_exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code

    def poke(self, context: Mapping[str, Any]) -> bool:
        command = self.bash_command
        if not isinstance(command, str) or not command.strip():
            raise TaskError(f"task {self.task_id!r}: bash_command is empty")
        log.info("Running command: %s", command)
        with tempfile.TemporaryDirectory(prefix="tradewind-bash-") as folder:
            done = subprocess.run(
                ["bash", "-c", command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=dict(self.env) if self.env is not None else None,
                start_new_session=True,
                check=False,
            )
        for line in done.stdout.decode(
            self.output_encoding, errors="backslashreplace"
        ).splitlines():
            log.info("%s", line)
        code = done.returncode
        log.info("Command exited with return code %s", code)
        if code == 0:
            return True
        if self.retry_exit_code is None or code == self.retry_exit_code:
            return False
        raise FailTask(
            f"bash command exited with code {code} (retry_exit_code is {self.retry_exit_code})"
        )
