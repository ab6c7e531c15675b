"""Sending everything a try prints or logs to its log, masked.

The try's log file is :func:`tradewind.tasklogs.log_path` (one file per try).
:class:`TryLog` points file descriptors 1 and 2 at that file (so subprocesses write there too),
replaces ``sys.stdout``/``sys.stderr`` with masking streams and logs through them; on exit it
puts everything back, so it can also run inside a longer-lived process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

from tradewind.runtime.masking import MaskingStream, SecretsMasker

LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"


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
        _set_level(root, self.level)

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
        _set_level(root, self._saved_level)


def _set_level(logger: logging.Logger, level: str | int) -> None:
    """Set the level unless it is already that: setting it clears the cache of every logger
    of the process (hundreds, once the libraries are imported), which a try pays twice."""
    number = logging.getLevelNamesMapping().get(level.upper()) if isinstance(level, str) else level
    if number != logger.level:
        logger.setLevel(level)


def preset_level(level: str) -> None:
    """Give the root logger a try's level ahead, in a process that forks tries.

    A forked try then finds the level already set. Setting it there would clear the cache of
    every logger of the process, and each logger it touches costs a copied memory page.
    """
    _set_level(logging.getLogger(), level)


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
