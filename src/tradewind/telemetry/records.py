"""What the scheduler recorded of a try or a run, as plain values, and the trace ids derived
from their keys.

The ids are derived, not drawn: the scheduler (which sends the spans once a try or run has
ended) and the try's own process (which opens child spans meanwhile) compute the same ones
from the same key, so nothing has to carry them across.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(frozen=True)
class TryRecord:
    """A try that started running (``state`` "running", no end) or ended."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str
    start: datetime | None
    end: datetime | None = None
    queued: datetime | None = None
    hostname: str | None = None
    pid: int | None = None
    pool: str | None = None
    queue: str | None = None
    priority_weight: int | None = None
    operator: str | None = None  # the operator's class path
    executor: str | None = None
    error: str | None = None
    logical_date: datetime | None = None
    log_path: str | None = None  # where the try's log is (otel_task_log_event)
    # The task's inlets and outlets as serialized (``{"asset": {"uri", ...}}``).
    inlets: tuple[Mapping[str, Any], ...] = ()
    outlets: tuple[Mapping[str, Any], ...] = ()

    @property
    def ended(self) -> bool:
        return self.end is not None


@dataclass(frozen=True)
class RunRecord:
    """A DAG run that started (``state`` "running", no end) or finished."""

    dag_id: str
    run_id: str
    run_type: str
    state: str
    logical_date: datetime | None
    start: datetime | None
    end: datetime | None = None
    queued: datetime | None = None
    data_interval: tuple[datetime, datetime] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.end is not None


Record = TryRecord | RunRecord


class Metric(NamedTuple):
    """A metric call of the scheduler, for the telemetry process to make (see
    :mod:`tradewind.telemetry.relay`); ``kind`` is the :class:`~tradewind.telemetry.stats.Stats`
    method."""

    kind: str  # incr, decr, gauge, timing
    name: str
    value: float
    tags: Mapping[str, str] | None
    legacy: str


def _digest(*parts: object, size: int) -> int:
    text = "\x1f".join(str(p) for p in parts).encode()
    value = int.from_bytes(hashlib.blake2b(text, digest_size=size).digest(), "big")
    return value or 1  # an all-zero id is invalid


def trace_id(dag_id: str, run_id: str) -> int:
    """The 128-bit trace id of a DAG run (every try of the run is in its trace)."""
    return _digest("trace", dag_id, run_id, size=16)


def run_span_id(dag_id: str, run_id: str) -> int:
    return _digest("run", dag_id, run_id, size=8)


def try_span_id(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> int:
    return _digest("try", dag_id, run_id, task_id, map_index, try_number, size=8)


def traceparent(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    """The W3C traceparent of a try's span (what its process's spans hang under)."""
    span = try_span_id(dag_id, run_id, task_id, map_index, try_number)
    return w3c_traceparent(trace_id(dag_id, run_id), span)


def w3c_traceparent(trace: int, span: int) -> str:
    """A sampled span's W3C traceparent header."""
    return f"00-{trace:032x}-{span:016x}-01"
