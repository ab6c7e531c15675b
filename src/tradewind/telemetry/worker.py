"""The telemetry process: builds spans and lineage events from the scheduler's records and
sends them, and sends the scheduler's StatsD and OpenTelemetry metrics, so that neither their
cost nor a slow receiver touches the scheduler's process.

Started by :class:`tradewind.telemetry.dispatch.Telemetry` as ``python -m
tradewind.telemetry.worker`` with the scheduler's settings in its environment. It reads
pickled frames on stdin: a list of records (each goes to the writers that take its type), or
``("flush", n)``, answered on stdout with one JSON line (``{"flushed": n, "failed": ...,
"error": ...}``) once everything before it is sent. End of input: it sends what is left and
exits.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import sys
from typing import IO, Any

log = logging.getLogger("tradewind.telemetry")


def writers_for(settings: Any) -> list[Any]:
    """What this process sends: the scheduler's StatsD and OpenTelemetry metrics (see
    :mod:`tradewind.telemetry.relay`), spans, lineage events; each as the settings say."""
    found: list[Any] = []
    from tradewind.telemetry import relay

    if relay.relays(settings.metrics):
        found.append(relay.MetricsWriter(settings.metrics, "scheduler"))
    if settings.traces.otel_on:
        from tradewind.telemetry import spans

        found.append(spans.SpanWriter(settings.traces))
    if settings.openlineage.enabled:
        from tradewind.telemetry import lineage

        found.append(lineage.LineageWriter(settings.openlineage))
    return found


def serve(source: IO[bytes], answers: IO[str], writers: list[Any]) -> None:
    failed, error = 0, ""
    while True:
        try:
            item = pickle.load(source)
        except EOFError:
            break
        if isinstance(item, list):
            for writer in writers:
                with getattr(writer, "batch", contextlib.nullcontext)():
                    for record in item:
                        if not isinstance(record, writer.takes):
                            continue
                        try:
                            writer.write(record)
                        except Exception as exc:
                            failed += 1
                            error = f"{type(writer).__name__}: {exc}"
                            log.warning("telemetry: not sent (%s)", error)
        elif isinstance(item, tuple) and item[0] == "flush":
            sent = all(_flush(writer, float(item[2])) for writer in writers)
            answer = {"flushed": item[1], "sent": sent, "failed": failed, "error": error}
            answers.write(json.dumps(answer) + "\n")
            answers.flush()
    for writer in writers:
        try:
            writer.close()
        except Exception:
            log.exception("telemetry: closing %s failed", type(writer).__name__)


def _flush(writer: Any, timeout: float) -> bool:
    try:
        return bool(writer.flush(timeout))
    except Exception as exc:
        log.warning("telemetry: flushing %s failed: %s", type(writer).__name__, exc)
        return False


# Where the scheduling policy cannot be set: the telemetry process at least yields the CPU.
NICENESS = 19


def yield_the_cpu() -> None:
    """Run only on CPU time nothing else wants (Linux's SCHED_IDLE): a try or the scheduler
    that wakes up takes the CPU from this process at once. A lower priority alone (nice)
    let a try just forked wait for the next scheduler tick behind it."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(NICENESS)


def main() -> None:
    yield_the_cpu()
    # Imported only now: the imports (the settings, then the exporters) are most of this
    # process's start, and they too take only CPU time nothing else wants.
    from tradewind.settings import load_settings

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    # The console transport logs each event at INFO: shown (on stderr), as asked for.
    logging.getLogger("openlineage.client.transport.console").setLevel(logging.INFO)
    settings = load_settings()
    # Answers get their own copy of stdout; whatever prints (a console exporter or
    # transport) goes to stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, answers, writers_for(settings))


if __name__ == "__main__":
    main()
