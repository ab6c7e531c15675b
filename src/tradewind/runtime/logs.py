"""Where a try's log goes, and sending everything the try prints or logs there, masked.

One file per try::

    {base_log_folder}/dag_id=<d>/run_id=<r>/task_id=<t>/[map_index=<m>/]attempt=<n>.log

:class:`TryLog` points file descriptors 1 and 2 at that file (so subprocesses write there too),
replaces ``sys.stdout``/``sys.stderr`` with masking streams and logs through them; on exit it
puts everything back, so it can also run inside a longer-lived process.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

from tradewind.runtime.masking import MaskingStream, SecretsMasker
from tradewind.workloads import TaskKey

LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"


def _component(name: str, value: str) -> str:
    # Ids cannot hold "/", but a hand-made run id might: keep it one folder level.
    return f"{name}={value.replace('/', '%2F')}"


def log_path(base_log_folder: Path, key: TaskKey) -> Path:
    """The log file of one try."""
    path = (
        Path(base_log_folder)
        / _component("dag_id", key.dag_id)
        / _component("run_id", key.run_id)
        / _component("task_id", key.task_id)
    )
    if key.map_index >= 0:
        path = path / f"map_index={key.map_index}"
    return path / f"attempt={key.try_number}.log"


READ_LIMIT = 1024 * 1024  # bytes of a log one read returns at most


@dataclass(frozen=True)
class LogChunk:
    """Text of a log from a byte offset; ``offset`` is where the next read starts."""

    content: str
    offset: int
    at_end: bool  # the file ends at ``offset`` (or there is no file)


def read_log(
    path: Path, offset: int = 0, *, limit: int = READ_LIMIT, final: bool = False
) -> LogChunk:
    """Up to ``limit`` bytes of the log at ``path`` from byte ``offset``, decoded as UTF-8.

    Bytes that are not UTF-8 become U+FFFD. A character cut at the end of the chunk is left
    for the next read (``offset`` stops before it), unless the file ends there and ``final``
    says that nothing more will be written.
    """
    offset = max(0, offset)
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if offset >= size:
                return LogChunk("", offset, True)
            file.seek(offset)
            data = file.read(limit)
    except FileNotFoundError:
        return LogChunk("", offset, True)
    return _decode(data, offset, size, limit=limit, final=final)


def chunk_of(
    log: bytes, offset: int = 0, *, limit: int = READ_LIMIT, final: bool = False
) -> LogChunk:
    """:func:`read_log` of a log held in memory."""
    offset = max(0, offset)
    if offset >= len(log):
        return LogChunk("", offset, True)
    return _decode(log[offset : offset + limit], offset, len(log), limit=limit, final=final)


def _decode(data: bytes, offset: int, size: int, *, limit: int, final: bool) -> LogChunk:
    reached = offset + len(data)
    at_end = reached >= size
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=at_end and final)
    pending = len(decoder.getstate()[0])
    if pending and pending == len(data) >= limit:
        # A lone fragment that can never complete a character (the limit is tiny): move on.
        text, pending = decoder.decode(b"", final=True), 0
    return LogChunk(text, reached - pending, at_end and not pending)


def _dup(fd: int) -> int | None:
    try:
        return os.dup(fd)
    except OSError:  # not open: a daemon may run without stdout
        return None


def _formatter() -> logging.Formatter:
    formatter = logging.Formatter(LOG_FORMAT)
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


class _Capture:
    """Routes the root logger (and optionally the process's output) to a masking stream."""

    def __init__(self, masker: SecretsMasker, level: str) -> None:
        self.masker = masker
        self.level = level
        self._saved_streams: tuple[TextIO, TextIO] | None = None
        self._handler: logging.Handler | None = None
        self._saved_level = logging.NOTSET

    def _install(self, stdout: MaskingStream, stderr: MaskingStream) -> None:
        """Log to ``stderr``; ``print()`` goes to ``stdout``."""
        self._saved_streams = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = stdout, stderr
        root = logging.getLogger()
        self._saved_level = root.level
        self._handler = logging.StreamHandler(stderr)
        self._handler.setFormatter(_formatter())
        root.addHandler(self._handler)
        root.setLevel(self.level)

    def _uninstall(self) -> None:
        if self._saved_streams is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = self._saved_streams
            self._saved_streams = None
        root = logging.getLogger()
        if self._handler is not None:
            self._handler.flush()
            root.removeHandler(self._handler)
            self._handler = None
        root.setLevel(self._saved_level)


class TryLog(_Capture):
    """The log file of a try, receiving fds 1 and 2, ``print()`` and logging, masked.

    Without a ``path`` the log goes to this process's stdout (fd 2 joins it): in a pod, the
    container's log is the try's log.
    """

    def __init__(self, path: Path | None, masker: SecretsMasker, level: str = "INFO") -> None:
        super().__init__(masker, level)
        self.path = path
        self._file: TextIO | None = None
        self._saved_fds: list[int | None] = []

    def __enter__(self) -> TryLog:
        if self.path is None:
            self._file = open(os.dup(1), "a", encoding="utf-8", errors="backslashreplace")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", errors="backslashreplace")
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        # Save the current fds 1 and 2 to put them back afterwards; then the file is both.
        self._saved_fds = [_dup(1), _dup(2)]
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)
        stream = MaskingStream(self._file, self.masker)
        self._install(stream, stream)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._uninstall()
        for target, saved in zip((1, 2), self._saved_fds, strict=True):
            if saved is None:
                os.close(target)  # it was closed before
                continue
            os.dup2(saved, target)
            os.close(saved)
        self._saved_fds = []
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminalLog(_Capture):
    """The log and ``print()`` on this process's own stderr and stdout, masked.

    ``tasks test`` shows a try's log as it runs instead of writing a file.
    """

    def __enter__(self) -> TerminalLog:
        self._install(
            MaskingStream(sys.stdout, self.masker), MaskingStream(sys.stderr, self.masker)
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._uninstall()
