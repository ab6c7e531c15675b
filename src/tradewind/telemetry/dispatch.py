"""Sending off the hot path: the scheduler hands its records (and its relayed metrics, see
:mod:`tradewind.telemetry.relay`) to :class:`Telemetry`, which queues them for a sender
thread that pipes them to the telemetry process (:mod:`tradewind.telemetry.worker`); that
process builds the spans and lineage events and sends them, and sends the metrics. The
scheduler's own process only pickles small records: building and sending cost it nothing, a
slow or missing receiver cannot hold it up. A full queue drops records (counted and logged),
a failing receiver is logged by the telemetry process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import IO

from tradewind.settings import Settings, child_environ
from tradewind.telemetry import records, relay

log = logging.getLogger(__name__)

# Batches (a pass's records each) waiting for the sender thread; past it, batches are dropped.
MAX_QUEUED = 10_000
# The sender thread wakes at most this often: what a busy scheduler queues meanwhile goes
# in one write, and the thread takes the interpreter's lock from the passes ten times a
# second, not once per pass.
SEND_EVERY = 0.1
Item = list[records.Record | records.Metric] | tuple[str, int, float] | None


class Telemetry:
    """Traces, lineage and the scheduler's relayed metrics (see
    :mod:`tradewind.telemetry.relay`) as the settings choose them (none: everything here is
    a no-op, and no library is imported)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings
        self.executor = settings.core.executor if settings is not None else ""
        self._closed = False
        self._queue: queue.Queue[Item] = queue.Queue(MAX_QUEUED)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sender: threading.Thread | None = None
        self._flushes = 0
        self._dropped = 0
        self._reported: tuple[int, int] = (0, 0)

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        """Telemetry for ``[traces]`` and ``[openlineage]``; a library missing for what is on
        is an error naming the extra to install."""
        if settings.traces.otel_on:
            from tradewind.telemetry import tracing

            tracing.require()
        if settings.openlineage.enabled:
            from tradewind.telemetry import lineage

            lineage.require()
        on = settings.traces.otel_on or settings.openlineage.enabled
        return cls(settings if on or relay.relays(settings.metrics) else None)

    @property
    def enabled(self) -> bool:
        """Whether the scheduler notes its tries' and runs' starts and ends for traces or
        lineage (not only relays its metrics)."""
        settings = self.settings
        return settings is not None and (settings.traces.otel_on or settings.openlineage.enabled)

    @property
    def wants_starts(self) -> bool:
        """Whether tries' starts are recorded: lineage sends a START event for each; a span
        is made from the try's end alone."""
        return self.settings is not None and self.settings.openlineage.enabled

    def start(self) -> None:
        """Start the telemetry process now, ahead of the first records: its start (an
        interpreter importing the exporters, a second or more of CPU) then comes with the
        scheduler's own, not in the middle of the first runs. Safe to call again."""
        if self.settings is not None and self._sender is None:
            self._start(self.settings)

    def send(self, found: Iterable[records.Record | records.Metric]) -> None:
        """Queue records for the telemetry process; never waits."""
        if self.settings is None or self._closed:
            return
        batch = list(found)
        if not batch:
            return
        if self._sender is None:
            self._start(self.settings)
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self._dropped += len(batch)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was queued so far is sent, OpenTelemetry's metrics included (tests,
        stopping); False if it was not (not within ``timeout``, or a receiver failed)."""
        if self._proc is None or self._proc.stdout is None:
            return True
        self._flushes += 1
        self._queue.put(("flush", self._flushes, timeout))
        end = time.monotonic() + timeout + 5
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self._proc.stdout], [], [], left)
            if not ready:
                break
            line = self._proc.stdout.readline()
            if not line:
                break
            answer = json.loads(line)
            if answer["flushed"] == self._flushes:
                self._report(int(answer["failed"]), str(answer["error"]))
                return bool(answer["sent"]) and not answer["failed"]
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued and stop the telemetry process (what comes later is dropped)."""
        self._closed = True
        if self._proc is None:
            return
        self.flush(timeout)
        self._queue.put(None)
        if self._sender is not None:
            self._sender.join(timeout)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc, self._sender = None, None

    def _start(self, settings: Settings) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tradewind.telemetry.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_environ(settings),
            close_fds=True,
        )
        self._sender = threading.Thread(
            target=self._send, args=(self._proc.stdin,), name="telemetry", daemon=True
        )
        self._sender.start()

    def _send(self, pipe: IO[bytes]) -> None:
        """Pipe what is queued: the records of every batch waiting so far as one list, one
        write (a busy scheduler queues a batch per pass, faster than one write each); then
        rest a moment (:data:`SEND_EVERY`)."""
        while True:
            waiting = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(waiting) < MAX_QUEUED:
                    waiting.append(self._queue.get_nowait())
            try:
                pending: list[records.Record | records.Metric] = []
                for item in waiting:
                    if isinstance(item, list):
                        pending += item
                        continue
                    if pending:
                        pickle.dump(pending, pipe)
                        pending = []
                    if item is None:
                        pipe.close()
                        return
                    pickle.dump(item, pipe)
                if pending:
                    pickle.dump(pending, pipe)
                pipe.flush()
            except (BrokenPipeError, OSError) as exc:
                log.warning("telemetry: the telemetry process is gone (%s); not sending", exc)
                return
            time.sleep(SEND_EVERY)

    def _report(self, failed: int, error: str) -> None:
        if (failed, self._dropped) == self._reported:
            return
        self._reported = (failed, self._dropped)
        log.warning(
            "telemetry: %d records not sent, %d dropped (queue full)%s",
            failed,
            self._dropped,
            f"; last error: {error}" if error else "",
        )
