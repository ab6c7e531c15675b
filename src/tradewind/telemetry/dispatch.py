"""Sending off the hot path: the scheduler hands its records to :class:`Telemetry`, which
queues them for one background thread; that thread turns them into spans and lineage events
and sends them. A full queue drops records (logged once in a while), a failing receiver is
logged: neither ever holds up the scheduler.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Protocol

from tradewind.settings import Settings
from tradewind.telemetry import records

log = logging.getLogger(__name__)

MAX_QUEUED = 100_000
# How often, at most, the thread says how many records it dropped or failed to send.
REPORT_EVERY = 60.0


class Writer(Protocol):
    def write(self, record: records.Record) -> None: ...
    def flush(self, timeout: float) -> bool: ...
    def close(self) -> None: ...


class Telemetry:
    """The writers chosen by the settings (none: everything here costs nothing)."""

    def __init__(self, writers: list[Writer], *, executor: str = "") -> None:
        self.writers = writers
        self.executor = executor
        self._queue: queue.Queue[records.Record | threading.Event | None] = queue.Queue(MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._dropped = 0
        self._failed = 0
        self._reported_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        """Writers for ``[traces]`` and ``[openlineage]``; the libraries are imported only for
        what is on (and a missing one is an error naming the extra to install)."""
        writers: list[Writer] = []
        if settings.traces.otel_on:
            from tradewind.telemetry import spans

            writers.append(spans.SpanWriter(settings.traces))
        if settings.openlineage.enabled:
            from tradewind.telemetry import lineage

            writers.append(lineage.LineageWriter(settings.openlineage))
        return cls(writers, executor=settings.core.executor)

    @property
    def enabled(self) -> bool:
        return bool(self.writers)

    def send(self, found: Iterable[records.Record]) -> None:
        """Queue records for the background thread; never waits."""
        if not self.writers:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
            self._thread.start()
        for record in found:
            try:
                self._queue.put_nowait(record)
            except queue.Full:
                self._dropped += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was queued so far is sent (tests, stopping)."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        if not done.wait(timeout):
            return False
        return all(writer.flush(timeout) for writer in self.writers)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, stop the thread and the writers."""
        if self._thread is not None:
            self.flush(timeout)
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        for writer in self.writers:
            try:
                writer.close()
            except Exception:
                log.exception("telemetry: closing %s failed", type(writer).__name__)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            for writer in self.writers:
                try:
                    writer.write(item)
                except Exception as exc:
                    self._failed += 1
                    self._report(f"{type(writer).__name__} failed: {exc}")
            if self._dropped:
                self._report("")

    def _report(self, error: str) -> None:
        now = time.monotonic()
        if now - self._reported_at < REPORT_EVERY:
            return
        self._reported_at = now
        log.warning(
            "telemetry: %d records not sent, %d dropped (queue full)%s",
            self._failed,
            self._dropped,
            f"; last error: {error}" if error else "",
        )
