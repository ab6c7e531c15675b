"""The timetable interface and the value objects it trades in.

A timetable answers two questions for the scheduler: when should the next
automated run of a DAG happen and which data interval does it cover, and which
data interval does a manually triggered run cover.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Any

UTC = dt.UTC


class InvalidSchedule(ValueError):
    """A schedule (or its time zone) that tradewind cannot turn into a timetable."""


def require_aware(value: dt.datetime, name: str) -> dt.datetime:
    """Return ``value`` in UTC; raise ValueError if it is naive.

    Naive datetimes are refused rather than guessed: a wrong guess would shift
    every run of a DAG by the local UTC offset without anyone noticing.
    """
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be a time-zone-aware datetime, got naive {value.isoformat()}"
        )
    utc = value.astimezone(UTC)
    # A plain datetime even for pendulum's DateTime (a subclass): its arithmetic and
    # comparisons with naive values differ, and the timetables compute in plain datetimes.
    return dt.datetime.combine(utc.date(), utc.time(), tzinfo=UTC)


@dataclass(frozen=True)
class DataInterval:
    """The span of data a DAG run covers: ``[start, end]``, both aware and in UTC."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "DataInterval.start")
        end = require_aware(self.end, "DataInterval.end")
        if end < start:
            raise ValueError(
                f"DataInterval end {end.isoformat()} is before its start {start.isoformat()}"
            )
        # Normalising here means every consumer can compare intervals directly.
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


@dataclass(frozen=True)
class TimeRestriction:
    """Limits on automated runs: the DAG's start_date, end_date and catchup flag."""

    earliest: dt.datetime | None
    latest: dt.datetime | None
    catchup: bool

    def __post_init__(self) -> None:
        if self.earliest is not None:
            object.__setattr__(self, "earliest", require_aware(self.earliest, "earliest"))
        if self.latest is not None:
            object.__setattr__(self, "latest", require_aware(self.latest, "latest"))


@dataclass(frozen=True)
class DagRunInfo:
    """When a run may be created and the data interval it covers."""

    run_after: dt.datetime
    data_interval: DataInterval

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_after", require_aware(self.run_after, "run_after"))

    @property
    def logical_date(self) -> dt.datetime:
        """The run's logical date: the start of its data interval."""
        return self.data_interval.start

    @classmethod
    def interval(cls, start: dt.datetime, end: dt.datetime) -> DagRunInfo:
        """A run covering ``[start, end]`` that may start once the interval is over."""
        return cls(run_after=end, data_interval=DataInterval(start, end))

    @classmethod
    def exact(cls, at: dt.datetime) -> DagRunInfo:
        """A run at one moment, with an empty data interval ``[at, at]``."""
        return cls(run_after=at, data_interval=DataInterval(at, at))


class Timetable(abc.ABC):
    """Decides when a DAG runs automatically and what data each run covers.

    Subclasses set ``summary``, ``description``, ``periodic`` and
    ``can_be_scheduled``; two timetables are equal when they serialize equally.
    """

    summary: str
    description: str
    periodic: bool
    can_be_scheduled: bool = True

    @abc.abstractmethod
    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
        now: dt.datetime,
    ) -> DagRunInfo | None:
        """The next automated run after the last one, or None if there is none."""

    @abc.abstractmethod
    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        """The data interval of a run triggered by hand at ``run_after``."""

    @abc.abstractmethod
    def serialize(self) -> dict[str, Any]:
        """A JSON-able dict with a ``"type"`` key; see ``deserialize_timetable``."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timetable):
            return NotImplemented
        return type(self) is type(other) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.summary))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary!r})"
