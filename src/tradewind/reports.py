"""What a task try reports, as frozen values, and their one wire format.

A try says two things, in order: :class:`Running` (its process started) and :class:`Finished`
(how it ended). The runner sends them over a pipe or a pod's log, a Celery worker relays them
through the result backend, and every executor turns them back into values with
:func:`decode`; an executor that sees a try end without a word makes the :class:`Finished` up
itself (:func:`lost`, :func:`cancelled`). The scheduler reads only these values.

On the wire each report is one JSON object (the field names are a contract: a try started by
an older worker must still be understood)::

    {"type": "running", "pid": 123, "hostname": "h", "at": "2026-...Z"}
    {"type": "finished", "state": "success", "at": "...", "error": null, "retryable": true,
     "xcoms": [["return_value", 42]], "skip": ["t2"], "reschedule_date": null,
     "rendered_fields": {"bash_command": "echo 2026-01-01"},
     "rendered_map_index": "file a.csv"}

A successful try that updated assets has ``asset_events``: ``[{"uri": "s3://b/k", "extra":
{...}, "alias": "name"}]`` (see :class:`AssetUpdate`; ``name``, ``group`` and ``alias`` only when
known). ``rendered_fields`` (JSON, secrets masked) is there only when the task has template
fields and they rendered; ``rendered_map_index`` (secrets masked) only when the try is an
instance of a mapped task with a ``map_index_template`` that rendered. A try that deferred has
the state ``deferred`` and a ``deferral``:
``{"classpath": "tradewind.triggers.temporal.DateTimeTrigger",
"kwargs": {...}, "method": "execute_complete", "method_kwargs": null, "timeout": 3600.0}``
(see :class:`Deferral`). An XCom whose value holds a secret
the try used comes as ``[key, value, shown]``: ``shown`` is the value masked, for display. A
finished report the executor made up carries why as a flag: ``lost`` (the process died without
reporting; with ``no_heartbeat`` too when its worker stopped heartbeating), ``timed_out``
(stopped at its execution_timeout), ``cancelled`` (stopped because the scheduler asked) or
``queued_timeout`` (no worker took it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradewind.states import TaskState


class Kind(enum.StrEnum):
    """The ``type`` of a report on the wire."""

    RUNNING = "running"
    FINISHED = "finished"


class Cause(enum.StrEnum):
    """Why a try ended as it did: ``reported`` when nothing beyond its error says more (the
    try's own report, or a failure its executor saw); else its executor ended it, and why."""

    REPORTED = "reported"
    LOST = "lost"
    # Lost too, found by its silence: its worker stopped heartbeating (Airflow's task instance
    # without heartbeat, a "zombie").
    NO_HEARTBEAT = "no_heartbeat"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    QUEUED_TIMEOUT = "queued_timeout"


# The wire's flags for a cause, in the order a reader looks for them.
_FLAGS = (Cause.CANCELLED, Cause.TIMED_OUT, Cause.NO_HEARTBEAT, Cause.LOST, Cause.QUEUED_TIMEOUT)


@dataclass(frozen=True)
class XCom:
    """A value the try pushed; ``shown`` is it masked when it holds a secret the try used
    (what the UI and the API display), else None."""

    key: str
    value: Any
    shown: Any = None

    def row(self) -> tuple[Any, ...]:
        """As the store and the wire take it: ``(key, value)`` or ``(key, value, shown)``."""
        if self.shown is None:
            return (self.key, self.value)
        return (self.key, self.value, self.shown)

    @classmethod
    def of(cls, raw: Sequence[Any]) -> XCom:
        return cls(raw[0], raw[1], raw[2] if len(raw) > 2 else None)


# The next_method of a deferred try that is to fail instead of resuming (its trigger raised,
# or its trigger_timeout passed): it fails with ``next_kwargs["error"]`` (Airflow's name).
FAIL_METHOD = "__fail__"


@dataclass(frozen=True)
class Deferral:
    """A try that deferred (its state ``deferred``): the trigger to run, as its class path and
    its arguments (``BaseTrigger.serialize()``, JSON-encoded by :mod:`tradewind.triggers`),
    the operator method to resume in with its kwargs, and the longest wait in seconds (None:
    no limit)."""

    classpath: str
    kwargs: Mapping[str, Any]
    method: str
    method_kwargs: Mapping[str, Any] | None = None
    timeout: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "classpath": self.classpath,
            "kwargs": dict(self.kwargs),
            "method": self.method,
            "method_kwargs": dict(self.method_kwargs) if self.method_kwargs is not None else None,
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Deferral:
        return cls(
            str(raw["classpath"]),
            dict(raw.get("kwargs") or {}),
            str(raw["method"]),
            raw.get("method_kwargs"),
            raw.get("timeout"),
        )


@dataclass(frozen=True)
class AssetUpdate:
    """An asset a successful try updated: one of its outlets, or an asset it named at run
    time through an alias (``alias``), with the ``extra`` the try attached to the event."""

    uri: str
    name: str | None = None
    group: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"uri": self.uri, "extra": dict(self.extra)}
        for key in ("name", "group", "alias"):
            if getattr(self, key) is not None:
                raw[key] = getattr(self, key)
        return raw

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AssetUpdate:
        extra = raw.get("extra")
        return cls(
            str(raw["uri"]),
            _text(raw.get("name")),
            _text(raw.get("group")),
            dict(extra) if isinstance(extra, Mapping) else {},
            _text(raw.get("alias")),
        )


@dataclass(frozen=True)
class Running:
    """The try's process started."""

    at: datetime
    pid: int | None = None
    hostname: str | None = None

    kind = Kind.RUNNING


@dataclass(frozen=True)
class Finished:
    """How the try ended: its state (success, failed, skipped, up_for_reschedule), the error
    that failed it, whether a failure may be retried, what it pushed, the downstream tasks it
    skips, when a rescheduled sensor pokes again, its rendered template fields, the
    :class:`Cause` (who ended it) and a mapped instance's rendered ``map_index_template``."""

    at: datetime
    state: TaskState
    error: str = ""
    retryable: bool = True
    xcoms: tuple[XCom, ...] = ()
    skip: tuple[str, ...] = ()
    reschedule_date: datetime | None = None
    rendered_fields: Mapping[str, Any] | None = field(default=None, compare=False)
    cause: Cause = Cause.REPORTED
    # A mapped instance's map_index_template, rendered at the end of the try (None: none).
    rendered_map_index: str | None = None
    # What a deferred try waits on (its state is then ``deferred``).
    deferral: Deferral | None = None
    # The assets a successful try updated (its outlets, and what it emitted through aliases).
    asset_events: tuple[AssetUpdate, ...] = ()

    kind = Kind.FINISHED

    @property
    def failed(self) -> bool:
        return self.state is TaskState.FAILED


Report = Running | Finished


def now() -> datetime:
    return datetime.now(UTC)


def lost(error: str, *, timed_out: bool = False, no_heartbeat: bool = False) -> Finished:
    """The try's process is gone without a word (or was stopped at its timeout, or its worker
    stopped heartbeating): failed, and may be retried."""
    cause = Cause.TIMED_OUT if timed_out else Cause.NO_HEARTBEAT if no_heartbeat else Cause.LOST
    return Finished(now(), TaskState.FAILED, error, retryable=True, cause=cause)


def cancelled() -> Finished:
    """The try was stopped (or dropped from the queue) because the scheduler asked for it."""
    return Finished(now(), TaskState.FAILED, "cancelled", retryable=False, cause=Cause.CANCELLED)


def failed_by_executor(error: str, *, retryable: bool, cause: Cause = Cause.REPORTED) -> Finished:
    """A failure its executor saw (the try never got to say it)."""
    return Finished(now(), TaskState.FAILED, error, retryable=retryable, cause=cause)


def encode(report: Report) -> dict[str, Any]:
    """The report as one JSON object (see the module docstring)."""
    if isinstance(report, Running):
        return {
            "type": Kind.RUNNING.value,
            "pid": report.pid,
            "hostname": report.hostname,
            "at": report.at.isoformat(),
        }
    message: dict[str, Any] = {
        "type": Kind.FINISHED.value,
        "state": report.state.value,
        "at": report.at.isoformat(),
        "error": report.error or None,
        **finished_fields(report),
    }
    return message


def finished_fields(report: Finished) -> dict[str, Any]:
    """The fields of a finished report beyond its type, state, time and error."""
    fields: dict[str, Any] = {
        "retryable": report.retryable,
        "xcoms": [list(x.row()) for x in report.xcoms],
        "skip": list(report.skip),
        "reschedule_date": report.reschedule_date.isoformat() if report.reschedule_date else None,
    }
    if report.rendered_fields is not None:
        fields["rendered_fields"] = dict(report.rendered_fields)
    if report.rendered_map_index is not None:
        fields["rendered_map_index"] = report.rendered_map_index
    if report.deferral is not None:
        fields["deferral"] = report.deferral.to_json()
    if report.asset_events:
        fields["asset_events"] = [update.to_json() for update in report.asset_events]
    if report.cause in (Cause.LOST, Cause.TIMED_OUT, Cause.NO_HEARTBEAT):
        # Both flags, as executors always sent them (a try without heartbeat is lost too).
        fields["lost"] = report.cause is not Cause.TIMED_OUT
        fields["timed_out"] = report.cause is Cause.TIMED_OUT
        if report.cause is Cause.NO_HEARTBEAT:
            fields[Cause.NO_HEARTBEAT.value] = True
    elif report.cause is not Cause.REPORTED:
        fields[report.cause.value] = True
    return fields


def decode(message: Mapping[str, Any]) -> Report:
    """A report from its JSON object (unknown types are an error of the runner)."""
    at = _time(message.get("at")) or now()
    kind = message.get("type")
    if kind == Kind.RUNNING:
        return Running(at, pid=message.get("pid"), hostname=message.get("hostname"))
    if kind == Kind.FINISHED:
        fields = message.get("rendered_fields")
        return Finished(
            at,
            TaskState(message["state"]),
            error=message.get("error") or "",
            retryable=bool(message.get("retryable", True)),
            xcoms=tuple(XCom.of(x) for x in message.get("xcoms") or ()),
            skip=tuple(message.get("skip") or ()),
            reschedule_date=_time(message.get("reschedule_date")),
            rendered_fields=fields if isinstance(fields, dict) else None,
            cause=next((c for c in _FLAGS if message.get(c.value)), Cause.REPORTED),
            rendered_map_index=_text(message.get("rendered_map_index")),
            deferral=_deferral(message.get("deferral")),
            asset_events=tuple(
                AssetUpdate.from_json(raw)
                for raw in message.get("asset_events") or ()
                if isinstance(raw, Mapping) and isinstance(raw.get("uri"), str)
            ),
        )
    raise ValueError(f"unknown report type {kind!r}")


def _text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


def _deferral(raw: Any) -> Deferral | None:
    return Deferral.from_json(raw) if isinstance(raw, Mapping) else None


def _time(raw: Any) -> datetime | None:
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None
