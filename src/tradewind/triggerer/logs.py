"""A trigger's log lines in the log of the try waiting on it.

While a trigger runs, its asyncio task carries a :class:`Sink` (a context variable, so each
trigger's lines find their own task's log, however many run in the loop); the
:class:`TaskLogHandler` on the root logger appends every record logged in that context (the
trigger's ``self.log``, or any logger its ``run()`` uses) to the log file of each try waiting
on it, formatted like the lines the try wrote itself. The records reach the triggerer's own log
as well, through its usual handlers.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey

# As the task runner formats a try's log (tradewind.runtime.logs).
LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"

log = logging.getLogger(__name__)


class Sink:
    """The log files of the tries waiting on one trigger; lines are appended to each."""

    def __init__(self, base_log_folder: Path, keys: Sequence[TaskKey]) -> None:
        self.paths = tuple(log_path(base_log_folder, key) for key in keys)
        self._broken: set[Path] = set()

    def write(self, text: str) -> None:
        for path in self.paths:
            if path in self._broken:
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8", errors="replace") as out:
                    out.write(text)
            except OSError as error:
                # Said once per file, in the triggerer's own log (outside the sink's context).
                self._broken.add(path)
                log.warning("cannot write to the task log %s: %s", path, error)


current: contextvars.ContextVar[Sink | None] = contextvars.ContextVar(
    "tradewind_trigger_sink", default=None
)


def formatter() -> logging.Formatter:
    made = logging.Formatter(LOG_FORMAT)
    made.converter = time.gmtime
    made.default_time_format = "%Y-%m-%dT%H:%M:%S"
    made.default_msec_format = "%s.%03dZ"
    return made


class TaskLogHandler(logging.Handler):
    """Appends each record logged inside a trigger's context to its tries' logs."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(formatter())

    def emit(self, record: logging.LogRecord) -> None:
        sink = current.get()
        if sink is None:
            return
        try:
            sink.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def write_to(self, sink: Sink, level: int, message: str) -> None:
        """Log ``message`` to ``sink`` only (from outside the trigger's context)."""
        record = logging.LogRecord(__name__, level, __file__, 0, message, None, None)
        sink.write(self.format(record) + "\n")


def install() -> TaskLogHandler:
    """Put a :class:`TaskLogHandler` on the root logger (once per process)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, TaskLogHandler):
            return handler
    handler = TaskLogHandler()
    root.addHandler(handler)
    return handler
