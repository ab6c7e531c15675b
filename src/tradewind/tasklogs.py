"""Where a try's log lives, reading it in chunks, and where the web server reads it from.

One file per try::

    {base_log_folder}/dag_id=<d>/run_id=<r>/task_id=<t>/[map_index=<m>/]attempt=<n>.log

The task runner writes that file (:mod:`tradewind.runtime.logs`); the web server, a Celery
worker's log server and the kubernetes executor read it, a chunk of at most :data:`READ_LIMIT`
bytes at a time, from a byte offset (a reader following a live log goes on from the offset of
the last chunk). A :class:`LogSource` is where the web server finds a try's log: the file under
its own log folder by default; an executor whose tries write their logs elsewhere (a worker's
host, a pod) offers its own (:meth:`tradewind.executors.base.BaseExecutor.log_source`).
:class:`LoggingMixin` gives a class a ``log`` (Airflow's ``LoggingMixin``): what it logs
during a try goes to the try's log like any other logging.
This module imports nothing of tradewind but :mod:`tradewind.workloads`: every part may use it.
"""

from __future__ import annotations

import codecs
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tradewind.workloads import TaskKey

READ_LIMIT = 1024 * 1024  # bytes of a log one read returns at most


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


class LogUnavailable(Exception):
    """Where the log is (a worker, a pod) does not give it; the text says why, for people."""


# The host that ran a try, once it has started (looked up only when a source needs it).
HostOf = Callable[[], str | None]


class LogSource:
    """Where the web server reads the logs of tries: here, the files under ``folder``.

    :meth:`read` gives a chunk of a try's log, or raises :class:`LogUnavailable` when the place
    that holds it does not answer. ``finished`` says the try writes no more to it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def read(self, key: TaskKey, offset: int, *, finished: bool, host: HostOf) -> LogChunk:
        return read_log(self.path(key), offset, final=finished)

    def path(self, key: TaskKey) -> Path:
        """The try's log file in this host's folder."""
        return log_path(self.folder, key)


class LoggingMixin:
    """Gives a class a ``log``: the logger named after its module and class."""

    @classmethod
    def logger(cls) -> logging.Logger:
        """The logger of this class."""
        return logging.getLogger(f"{cls.__module__}.{cls.__name__}")

    @property
    def log(self) -> logging.Logger:
        """The logger of this object's class."""
        return type(self).logger()
