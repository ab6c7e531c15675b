"""A pod's log: the try's log, with the try's messages (lines after ``REPORT_TAG``) among it.

A pod runs ``tradewind tasks run ... --log-to-stdout``, so its container log is the try's log.
While the pod runs, the web server reads it from the Kubernetes API (:func:`read_live`, through
:class:`PodLogSource`, the kubernetes executor's log source). When
the pod ends, the executor keeps it (:func:`keep`): it copies the log, messages left out, into
the try's log file under ``logging.base_log_folder`` before the pod may be deleted, and adds
the pod's outcome on a last line when the try did not report one (an OOM kill, an eviction, an
image that cannot be pulled). The messages themselves go to the executor, not to the log.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from kubernetes.client.exceptions import ApiException

from tradewind.executors.base import REPORT_TAG
from tradewind.executors.kubernetes.client import REQUEST_TIMEOUT, make_api, status_message
from tradewind.executors.kubernetes.podspec import BASE_CONTAINER, pod_name
from tradewind.reports import Kind
from tradewind.settings import KubernetesSettings
from tradewind.tasklogs import (
    READ_LIMIT,
    HostOf,
    LogChunk,
    LogSource,
    LogUnavailable,
    chunk_of,
    read_log,
)
from tradewind.workloads import TaskKey

_TAG = REPORT_TAG.encode()
_CHUNK = 64 * 1024
# Read this much more than a live chunk needs: room for the message lines it leaves out.
_SLACK = 256 * 1024


class PodLogError(Exception):
    """The pod's log cannot be read; the text says why, for the reader."""

    def __init__(self, why: str, status: int | None = None) -> None:
        super().__init__(why)
        self.status = status  # the API's answer, if it answered


class LogFilter:
    """Takes a pod's log piece by piece and gives back the try's log; keeps the try's last
    finished message."""

    def __init__(self) -> None:
        self.finished: dict[str, Any] | None = None
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        data = self._carry + data
        end = data.rfind(b"\n") + 1
        self._carry = data[end:]
        return self._lines(data[:end])

    def close(self) -> bytes:
        data, self._carry = self._carry, b""
        return self._lines(data)

    def _lines(self, data: bytes) -> bytes:
        if _TAG not in data:
            return data
        out: list[bytes] = []
        for line in data.splitlines(keepends=True):
            at = line.find(_TAG)
            if at < 0:
                out.append(line)
                continue
            self._take(line[at + len(_TAG) :])
            if at:  # the try's text that came before the message on the same line
                out.append(line[:at] + b"\n")
        return b"".join(out)

    def _take(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == Kind.FINISHED.value:
            self.finished = message


def filtered(log: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """The try's log in ``log`` and its last finished message."""
    found = LogFilter()
    text = found.feed(log) + found.close()
    return text, found.finished


@dataclass
class Kept:
    finished: dict[str, Any] | None  # the try's report, if the log holds one
    unreadable: str = ""  # why the log could not be read (all of it); "" when it could
    unwritten: str = ""  # why the log file could not be written; "" when it was


class _Part:
    """The log file being written next to its final place, put there in one step at the end;
    a file that cannot be written is given up on, not the reading."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.path = dest.with_name(dest.name + ".part")
        self.error = ""
        self._file: BinaryIO | None = None
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in done()
        except OSError as exc:
            self.error = str(exc)

    def write(self, data: bytes) -> None:
        if self._file is None or not data:
            return
        try:
            self._file.write(data)
        except OSError as exc:
            self.error = str(exc)
            self._give_up()

    def done(self) -> None:
        if self._file is None:
            return
        try:
            self._file.close()
            os.replace(self.path, self.dest)
        except OSError as exc:
            self.error = str(exc)
            self._give_up()
        self._file = None

    def _give_up(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = None
        with contextlib.suppress(OSError):
            self.path.unlink()


def keep(api: Any, namespace: str, name: str, dest: Path) -> Kept:
    """Copy pod ``name``'s log, messages left out, into the log file ``dest`` (replacing it
    in one step), and find the try's report in it. A log that breaks off keeps what was
    read; a file that cannot be written does not stop the report from being found."""
    found = LogFilter()
    part = _Part(dest)
    unreadable = ""
    try:
        response = api.read_namespaced_pod_log(
            name,
            namespace,
            container=BASE_CONTAINER,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
    except ApiException as exc:
        unreadable = f"{exc.status} {exc.reason}"
    except Exception as exc:
        unreadable = str(exc) or type(exc).__name__
    else:
        try:
            for data in response.stream(_CHUNK):
                part.write(found.feed(data))
            part.write(found.close())
        except Exception as exc:  # the connection broke off
            unreadable = str(exc) or type(exc).__name__
        finally:
            response.release_conn()
    part.done()
    return Kept(found.finished, unreadable, part.error)


def add_note(dest: Path, name: str, note: str) -> None:
    """Add the pod's outcome to the end of the try's log file (a pod that never ran)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "a", encoding="utf-8") as out:
        out.write(note_line(name, note))


def note_line(name: str, note: str) -> str:
    """A line of the try's log, in the log's format, saying how its pod ended."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"[{at}] {{kubernetes}} ERROR - pod {name}: {note}\n"


def read_live(
    api: Any, namespace: str, name: str, offset: int, *, limit: int = READ_LIMIT
) -> LogChunk:
    """The try's log in a running pod from byte ``offset``. The API has no offsets: the log is
    read from its start, up to what this chunk needs (the try's log, message lines taken out,
    is never longer than the pod's), more when a long message line was in the way."""
    wanted = offset + limit + _SLACK
    while True:
        data = _read_start(api, namespace, name, wanted)
        cut = len(data) >= wanted
        if cut and b"\n" in data:  # whole lines: a message line cut short is not known as one
            data = data[: data.rfind(b"\n") + 1]
        text, _ = filtered(data)
        chunk = chunk_of(text, offset, limit=limit)
        if not cut:
            return chunk
        if chunk.content:
            return LogChunk(chunk.content, chunk.offset, False)
        wanted *= 4


def _read_start(api: Any, namespace: str, name: str, size: int) -> bytes:
    """The first ``size`` bytes of the pod's log."""
    try:
        response = api.read_namespaced_pod_log(
            name,
            namespace,
            container=BASE_CONTAINER,
            limit_bytes=size,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        try:
            return bytes(response.data or b"")
        finally:
            response.release_conn()
    except ApiException as exc:
        raise PodLogError(_why(exc, name), exc.status) from None
    except Exception as exc:
        raise PodLogError(f"the Kubernetes API did not answer: {exc}") from None


def _why(exc: ApiException, name: str) -> str:
    if exc.status == 404:
        return f"pod {name} is gone and its log is not kept here"
    detail = status_message(exc)
    if exc.status == 400 and detail:
        return f"pod {name} has no log yet: {detail}"
    return f"the log of pod {name} cannot be read: {exc.status} {detail or exc.reason}"


class PodLogSource(LogSource):
    """A try's log file under ``folder`` once its pod has ended (the scheduler keeps it there);
    before, the running pod's log from the Kubernetes API. A try whose pod is not made yet has
    no log yet, and nothing to say about it."""

    def __init__(self, folder: Path, settings: KubernetesSettings) -> None:
        super().__init__(folder)
        self.settings = settings

    def read(self, key: TaskKey, offset: int, *, finished: bool, host: HostOf) -> LogChunk:
        path = self.path(key)
        if path.exists():
            return read_log(path, offset, final=finished)
        started = host() is not None
        try:
            chunk = read_live(_api(self.settings), self.settings.namespace, pod_name(key), offset)
        except PodLogError as exc:
            if path.exists():
                return read_log(path, offset, final=finished)
            if exc.status == 404 and not started and not finished:
                return LogChunk("", offset, True)  # its pod is not made yet
            raise LogUnavailable(str(exc)) from None
        if path.exists():  # the pod ended while we read it
            return read_log(path, offset, final=finished)
        return LogChunk(chunk.content, chunk.offset, chunk.at_end and finished)


@functools.lru_cache(maxsize=4)
def _api(settings: KubernetesSettings) -> Any:
    try:
        return make_api(settings)
    except Exception as exc:  # no kubeconfig, no service account
        raise LogUnavailable(f"the web server cannot reach the Kubernetes API: {exc}") from None
