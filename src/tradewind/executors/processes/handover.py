"""Handing a workload, whatever its size, to the process that runs its try.

A workload is mostly small, but its run's ``conf`` is whatever a user sent. The fork server's
control socket carries one packet per request, and a packet has a size limit (the socket's
send buffer), so a request travels in one of two forms::

    {"id": 7, "workload": {...}}   + [report pipe]                      up to INLINE_LIMIT bytes
    {"id": 7, "workload_fd": 1}    + [report pipe, memfd of the workload JSON]    beyond that

The small form costs what it always did; the large one costs a memory file (``memfd``) whose
descriptor travels with the request, so the size is only limited by memory. Whatever goes
wrong in handing over one workload fails that try alone (:class:`HandoverError`): the fork
server and the other tries never hear of it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradewind.executors.base import ExecutorError
from tradewind.workloads import Workload

# Far below the send buffer of a Unix socket (about 200 KB by default on Linux).
INLINE_LIMIT = 64 << 10
# A request carries its report pipe, and the workload's memory file when it is large.
MAX_FDS = 2
# Errors of a send that mean the other end is gone, not that this request is at fault.
PEER_GONE = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF})
_CHUNK = 1 << 20


class HandoverError(ExecutorError):
    """One workload could not be handed over: only its try fails, with this reason.

    ``ident`` is the id of the request it is about, when it is known (-1 otherwise).
    """

    def __init__(self, message: str, *, ident: int = -1) -> None:
        super().__init__(message)
        self.ident = ident


@dataclass(eq=False)
class Request:
    """A try to start: its id, its workload, the packet and descriptors it travels with.

    ``fds`` holds the report pipe's write end first, then the workload's memory file when the
    workload did not fit in the packet. Whoever holds a request owns its descriptors.
    """

    ident: int
    workload: Workload
    packet: bytes
    fds: list[int] = field(default_factory=list)

    @property
    def report_fd(self) -> int:
        return self.fds[0]

    def send(self, sock: socket.socket) -> None:
        """Pass the request on unchanged (an OSError when that fails; the descriptors stay
        the holder's)."""
        socket.send_fds(sock, [self.packet], self.fds)

    def drop_workload_file(self) -> None:
        """Close the workload's memory file: the workload is read and does not travel on."""
        for fd in self.fds[1:]:
            _close(fd)
        del self.fds[1:]

    def close(self) -> None:
        for fd in self.fds:
            _close(fd)
        self.fds.clear()


def send(sock: socket.socket, ident: int, workload: Workload, report_fd: int) -> None:
    """Ask for a try of ``workload`` reporting on ``report_fd`` (which stays the caller's).

    Raises :class:`HandoverError` when this workload cannot be handed over, and OSError when
    the other end is gone.
    """
    data = encode(workload)
    if len(data) <= INLINE_LIMIT:
        packet = b'{"id": %d, "workload": %b}' % (ident, data)
        try:
            socket.send_fds(sock, [packet], [report_fd])
            return
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:
                _raise_send_error(exc)
            # A socket with a smaller buffer than usual: the large form fits any.
    workload_fd = memory_file(data)
    try:
        header = b'{"id": %d, "workload_fd": 1}' % ident
        socket.send_fds(sock, [header], [report_fd, workload_fd])
    except OSError as exc:
        _raise_send_error(exc)
    finally:
        os.close(workload_fd)


def encode(workload: Workload) -> bytes:
    """The workload as JSON (a HandoverError when it cannot be)."""
    try:
        return json.dumps(workload.to_json()).encode()
    except (TypeError, ValueError) as exc:
        raise HandoverError(f"the workload cannot be encoded as JSON: {exc}") from None


def _raise_send_error(exc: OSError) -> None:
    if exc.errno in PEER_GONE:
        raise exc
    raise HandoverError(f"cannot hand the workload over: {exc}") from None


def receive(ident: int, message: Mapping[str, Any], packet: bytes, fds: list[int]) -> Request:
    """The request ``ident`` that came as ``message`` (the decoded ``packet``) with ``fds``.

    Raises HandoverError when it makes no sense; the descriptors are then still the caller's.
    """
    large = "workload_fd" in message
    if len(fds) != (2 if large else 1):
        raise HandoverError("malformed request: wrong number of descriptors", ident=ident)
    try:
        raw = json.loads(read_file(fds[1])) if large else message["workload"]
        workload = Workload.from_json(raw)
    except OSError as exc:
        raise HandoverError(f"cannot read the workload: {exc}", ident=ident) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HandoverError(f"bad workload: {exc}", ident=ident) from None
    return Request(ident, workload, packet, list(fds))


def memory_file(data: bytes) -> int:
    """A memory file holding ``data`` (closed on exec)."""
    try:
        fd = os.memfd_create("tradewind-workload", os.MFD_CLOEXEC)
    except OSError as exc:
        raise HandoverError(f"cannot make a memory file for the workload: {exc}") from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view[:_CHUNK]) :]
    except OSError as exc:
        os.close(fd)
        raise HandoverError(f"cannot write the workload to a memory file: {exc}") from None
    return fd


def read_file(fd: int) -> bytes:
    """The whole content of a memory file, whatever its offset (its copies share one)."""
    size = os.fstat(fd).st_size
    parts = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
        if not chunk:
            break
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
