"""Sleep until files of one folder change, with Linux's inotify (through libc).

The SQLite waker (:mod:`.wakeups`) waits on it between its looks at the metastore: polling
20 times a second cost an idle scheduler about 0.3 CPU-s a minute on a small virtual machine
(each wake-up of a Python thread costs hundreds of microseconds there), where waiting for a
write to the database's files costs nothing until one comes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import struct
import time

# inotify(7): a file was written, written and closed, moved in or created.
_MASK = 0x2 | 0x8 | 0x80 | 0x100
# struct inotify_event: wd, mask, cookie, len, then len bytes of name.
_EVENT = struct.Struct("iIII")


class FileChanges:
    """Changes to the files of a folder whose names start with a prefix (a database's file,
    its journal, its write-ahead log and the files beside it named after it)."""

    def __init__(self, fd: int, prefix: str) -> None:
        self._fd = fd
        self._prefix = os.fsencode(prefix)

    @classmethod
    def watch(cls, path: str) -> FileChanges | None:
        """Changes to ``path`` and to the files named after it; None where inotify cannot
        watch its folder (not Linux, no libc, no more watches, no folder)."""
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError):
            return None
        fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        folder = os.path.dirname(os.path.abspath(path))
        if add(fd, os.fsencode(folder), _MASK) < 0:
            os.close(fd)
            return None
        return cls(fd, os.path.basename(path))

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change; whether one came."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self._fd], [], [], left)
            if not ready:
                return False
            if self._drain():
                return True
        return False

    def _drain(self) -> bool:
        """Read every waiting event; whether one was about a watched file."""
        seen = False
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except (BlockingIOError, InterruptedError):
                return seen
            if not data:
                return seen
            offset = 0
            while offset + _EVENT.size <= len(data):
                length = _EVENT.unpack_from(data, offset)[3]
                start = offset + _EVENT.size
                seen = seen or data[start : start + length].startswith(self._prefix)
                offset = start + length

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
