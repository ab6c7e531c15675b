"""The scheduler's span writer: a span per DAG run and a child span per task try, built from
what the scheduler recorded once they ended, with their real start and end times, and sent
by the SDK's batch processor in the background.

Span ids are derived from the keys (see :mod:`tradewind.telemetry.records`), so that a try's
span is the child of its run's span although the run ends (and its span is sent) later, and
the spans a try's process opens hang under the try's span. Attribute names follow Airflow's.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any

from tradewind.settings import TracesSettings
from tradewind.telemetry import records, tracing

FAILED_STATES = frozenset({"failed", "upstream_failed", "up_for_retry"})


def _ns(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000_000)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


class _KeyedIds:
    """Ids for the next span, set just before it starts (spans are built on one thread)."""

    def __init__(self) -> None:
        self._next = threading.local()

    def set(self, trace_id: int, span_id: int) -> None:
        self._next.ids = (trace_id, span_id)

    def generate_span_id(self) -> int:
        ids = getattr(self._next, "ids", None)
        return ids[1] if ids else random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        ids = getattr(self._next, "ids", None)
        return ids[0] if ids else random.getrandbits(128) or 1

    def is_trace_id_random(self) -> bool:
        return False


class SpanWriter:
    """Turns ended runs and tries into spans (records of starts are ignored)."""

    takes = (records.TryRecord, records.RunRecord)

    def __init__(self, settings: TracesSettings) -> None:
        tracing.require()
        from opentelemetry.sdk.trace.id_generator import IdGenerator

        # The SDK wants an IdGenerator; ours is one by its three methods.
        IdGenerator.register(_KeyedIds)
        self._ids = _KeyedIds()
        self._provider = tracing.provider(settings, id_generator=self._ids)
        self._tracer = self._provider.get_tracer(tracing.INSTRUMENTATION)

    def write(self, record: records.Record) -> None:
        if not record.ended:
            return
        if isinstance(record, records.RunRecord):
            self._run_span(record)
        else:
            self._try_span(record)

    def flush(self, timeout: float) -> bool:
        return self._provider.force_flush(int(timeout * 1000))

    def close(self) -> None:
        self._provider.shutdown()

    def _run_span(self, run: records.RunRecord) -> None:
        from opentelemetry import context

        attributes: dict[str, Any] = {
            "airflow.dag_run.dag_id": run.dag_id,
            "airflow.dag_run.run_id": run.run_id,
            "airflow.dag_run.run_type": run.run_type,
            "airflow.dag_run.state": run.state,
            "airflow.dag_run.logical_date": _iso(run.logical_date),
            "airflow.dag_run.queued_at": _iso(run.queued),
            "airflow.dag_run.start_date": _iso(run.start),
            "airflow.dag_run.end_date": _iso(run.end),
        }
        if run.start is not None and run.end is not None:
            attributes["airflow.dag_run.duration"] = (run.end - run.start).total_seconds()
        if run.data_interval is not None:
            attributes["airflow.dag_run.data_interval_start"] = _iso(run.data_interval[0])
            attributes["airflow.dag_run.data_interval_end"] = _iso(run.data_interval[1])
        self._ids.set(
            records.trace_id(run.dag_id, run.run_id), records.run_span_id(run.dag_id, run.run_id)
        )
        span = self._tracer.start_span(
            run.dag_id,
            context=context.Context(),
            attributes=attributes,
            start_time=_ns(run.start or run.queued or run.end),
        )
        self._end(span, run.state, run.end)

    def _try_span(self, ti: records.TryRecord) -> None:
        from opentelemetry import context, trace

        trace_id = records.trace_id(ti.dag_id, ti.run_id)
        parent = trace.SpanContext(
            trace_id,
            records.run_span_id(ti.dag_id, ti.run_id),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
        ctx = trace.set_span_in_context(trace.NonRecordingSpan(parent), context.Context())
        attributes: dict[str, Any] = {
            "airflow.task_instance.dag_id": ti.dag_id,
            "airflow.task_instance.run_id": ti.run_id,
            "airflow.task_instance.task_id": ti.task_id,
            "airflow.task_instance.map_index": ti.map_index,
            "airflow.task_instance.try_number": ti.try_number,
            "airflow.task_instance.state": ti.state,
            "airflow.task_instance.queued_dttm": _iso(ti.queued),
            "airflow.task_instance.start_date": _iso(ti.start),
            "airflow.task_instance.end_date": _iso(ti.end),
        }
        optional = {
            "airflow.task_instance.hostname": ti.hostname,
            "airflow.task_instance.pid": ti.pid,
            "airflow.task_instance.pool": ti.pool,
            "airflow.task_instance.queue": ti.queue,
            "airflow.task_instance.priority_weight": ti.priority_weight,
            "airflow.task_instance.operator": ti.operator,
            "airflow.task_instance.executor": ti.executor,
        }
        attributes.update({k: v for k, v in optional.items() if v is not None})
        if ti.start is not None and ti.end is not None:
            attributes["airflow.task_instance.duration"] = (ti.end - ti.start).total_seconds()
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        self._ids.set(
            trace_id,
            records.try_span_id(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number),
        )
        span = self._tracer.start_span(
            name,
            context=ctx,
            kind=trace.SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(ti.queued or ti.start or ti.end),
        )
        for event, moment in (("queued", ti.queued), ("started", ti.start), ("ended", ti.end)):
            if moment is not None:
                span.add_event(event, timestamp=_ns(moment))
        if ti.log_path is not None:
            span.add_event("log", {"log_path": ti.log_path}, timestamp=_ns(ti.end))
        if ti.error:
            span.set_attribute("airflow.task_instance.error", ti.error)
        self._end(span, ti.state, ti.end)

    def _end(self, span: Any, state: str, end: datetime | None) -> None:
        from opentelemetry.trace import Status, StatusCode

        if state in FAILED_STATES:
            span.set_status(Status(StatusCode.ERROR, state))
        elif state == "success":
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=_ns(end))
