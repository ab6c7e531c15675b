"""What telemetry (traces, lineage) is told of a pass: the tries that started running or
ended, the runs that started or finished.

The places that write those changes note them on the pass's session (one call each, nothing
when telemetry is off: the loop only sets the notes up when it is on); the loop takes the notes off
the pass's session and, once the pass has committed and its tries are handed over,
:func:`read_after` turns them into plain records (:mod:`tradewind.telemetry.records`) with one
read of its own, for :class:`tradewind.telemetry.dispatch.Telemetry`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tradewind import tasklogs
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import observed, tasks
from tradewind.metastore.store.finishing import FinishedTry
from tradewind.telemetry import records
from tradewind.workloads import TaskKey

if TYPE_CHECKING:
    from tradewind.parsing.serialize import SerializedDag
    from tradewind.scheduler.dagruns import DagCache

log = logging.getLogger(__name__)

NOTES = "tradewind.telemetry"


@dataclass
class _Try:
    key: TaskKey
    state: str
    end: datetime | None = None
    start: datetime | None = None
    error: str | None = None
    # What the pass knew of the try's row already (None: read after the pass).
    facts: observed.TryFacts | None = None
    # A start's process, from its running report.
    pid: int | None = None
    hostname: str | None = None


@dataclass
class Notes:
    tries: list[_Try] = field(default_factory=list)
    runs: list[records.RunRecord] = field(default_factory=list)
    # Whether tries' starts are noted (only lineage has a use for them: a START event).
    starts: bool = True


class RunsSeen:
    """What tries' starts need of their runs (logical date, DAG version), kept across passes
    so that a start costs no read: the runs of a pass's first starts are read at once, and
    every ended try whose row the pass read brings its run's in for free."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._known: dict[observed.RunKey, observed.RunFacts] = {}

    def get(
        self, session: Session, keys: set[observed.RunKey]
    ) -> dict[observed.RunKey, observed.RunFacts]:
        missing = keys - self._known.keys()
        if missing:
            for key, facts in observed.run_facts(session, missing).items():
                self.keep(key, facts)
        return {key: self._known[key] for key in keys if key in self._known}

    def forget(self, key: observed.RunKey) -> None:
        """A run ended: a run made again under its id (deleted, triggered anew) is read anew."""
        self._known.pop(key, None)

    def keep(self, key: observed.RunKey, facts: observed.RunFacts) -> None:
        if key not in self._known and len(self._known) >= self.LIMIT:
            del self._known[next(iter(self._known))]  # the oldest
        self._known[key] = facts


def _plain(state: str) -> str:
    """A state enum's value (the records hold plain text)."""
    return str(getattr(state, "value", state))


def watch(session: Session, *, starts: bool = True) -> None:
    """Note what this session's pass starts and ends (``starts``: tries' starts too)."""
    session.info[NOTES] = Notes(starts=starts)


def try_started(
    session: Session, key: TaskKey, at: datetime, pid: int | None, hostname: str | None
) -> None:
    notes: Notes | None = session.info.get(NOTES)
    if notes is not None and notes.starts:
        notes.tries.append(_Try(key, "running", start=at, pid=pid, hostname=hostname))


def try_ended(
    session: Session,
    key: TaskKey,
    state: str,
    end: datetime,
    running: tuple[datetime, int | None, str | None] | None,
    *,
    error: str | None = None,
    row: FinishedTry | None = None,
    run: DagRun | None = None,
    reason: str | None = None,
) -> None:
    """A try ended (``running``: its running report (when, pid, host), if that came with
    its end; ``row`` and ``run``: its row as the pass read it and its run, which spare the
    read after the pass; ``reason``: why it failed, as written)."""
    notes: Notes | None = session.info.get(NOTES)
    if notes is None:
        return
    facts = None
    if row is not None and run is not None:
        facts = observed.TryFacts(
            row.queued,
            row.start_date,
            row.hostname,
            row.pid,
            row.pool,
            row.queue,
            row.priority_weight,
            reason[: tasks.MAX_REASON] if reason else None,
            run.logical_date,
            run.serialized_dag_id,
        )
    if running is not None and notes.starts:
        at, pid, hostname = running
        notes.tries.append(_Try(key, "running", start=at, pid=pid, hostname=hostname))
    notes.tries.append(_Try(key, _plain(state), end=end, error=error, facts=facts))


def try_failed(
    session: Session, key: TaskKey, end: datetime, *, start: datetime | None, error: str
) -> None:
    """A running try that the scheduler ended without a report of it (its scheduler is gone,
    it was cleared while it ran): failed, as its history row says."""
    notes: Notes | None = session.info.get(NOTES)
    if notes is not None:
        notes.tries.append(_Try(key, "failed", end=end, start=start, error=error))


def run_changed(session: Session, run: DagRun, state: str, now: datetime) -> None:
    """A run started (``state`` running) or finished."""
    notes: Notes | None = session.info.get(NOTES)
    if notes is None:
        return
    interval = None
    if run.data_interval_start is not None and run.data_interval_end is not None:
        interval = (run.data_interval_start, run.data_interval_end)
    running = _plain(state) == "running"
    notes.runs.append(
        records.RunRecord(
            run.dag_id,
            run.run_id,
            run.run_type,
            _plain(state),
            run.logical_date,
            start=now if running else run.start_date,
            end=None if running else now,
            queued=run.queued_at,
            data_interval=interval,
        )
    )


def collect(
    session: Session, cache: DagCache, log_folder: Path | None, executor: str
) -> list[records.Record]:
    """The session's notes as records, read in its own transaction."""
    return as_records(session, taken(session), cache, log_folder, executor)


def taken(session: Session) -> Notes | None:
    """The session's notes, taken off it (None: nothing was noted, or nobody watched)."""
    notes: Notes | None = session.info.pop(NOTES, None)
    if notes is None or not (notes.tries or notes.runs):
        return None
    return notes


def read_after(
    reads: sessionmaker[Session],
    notes: Notes | None,
    cache: DagCache,
    log_folder: Path | None,
    executor: str,
    *,
    runs: RunsSeen | None = None,
) -> list[records.Record]:
    """A committed pass's notes as records, read in a short read-only transaction of their
    own: the pass does not wait for this read, which comes once its tries are handed over.
    A failed read loses these records (logged), never the pass."""
    if notes is None:
        return []
    session = _OnFirstUse(reads)
    try:
        return as_records(cast(Session, session), notes, cache, log_folder, executor, runs=runs)
    except SQLAlchemyError as exc:
        log.warning("telemetry: %d tries and runs not recorded: %s", len(notes.tries), exc)
        return []
    finally:
        session.close()


class _OnFirstUse:
    """A read-only session opened when something is read through it, not before: most passes
    read nothing here (the pass had the ended tries' rows at hand, the started tries' runs
    and their DAGs are known), and opening one costs a pass about 0.1 ms."""

    def __init__(self, reads: sessionmaker[Session]) -> None:
        self._reads = reads
        self._session: Session | None = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            self._session = self._reads()
        return getattr(self._session, name)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def as_records(
    session: Session,
    notes: Notes | None,
    cache: DagCache,
    log_folder: Path | None,
    executor: str,
    *,
    runs: RunsSeen | None = None,
) -> list[records.Record]:
    """The notes as records (runs' starts first, tries, runs' ends last)."""
    if notes is None:
        return []
    runs = runs if runs is not None else RunsSeen()
    ends = {_key4(t.key) for t in notes.tries if t.facts is None and t.end is not None}
    facts = observed.try_facts(session, ends) if ends else {}
    if notes.starts:  # what starts need of their runs comes with the ends' facts
        _learn(runs, [(t.key.dag_id, t.key.run_id, t.facts) for t in notes.tries if t.facts])
        _learn(runs, [(k[0], k[1], f) for k, f in facts.items()])
    starts = {(t.key.dag_id, t.key.run_id) for t in notes.tries if t.end is None}
    seen = runs.get(session, starts) if starts else {}
    found: list[records.Record] = [r for r in notes.runs if not r.ended]
    for noted in notes.tries:
        key = noted.key
        if noted.end is None:
            run = seen.get((key.dag_id, key.run_id))
            if run is not None:
                found.append(_start(noted, run, cache.get(session, run.serialized_dag_id)))
            continue
        fact = noted.facts or facts.get(_key4(key))
        if fact is not None:
            dag = cache.get(session, fact.serialized_dag_id)
            found.append(_end(noted, fact, dag, log_folder, executor))
    for ended in notes.runs:
        if ended.ended:
            found.append(ended)
            runs.forget((ended.dag_id, ended.run_id))
    return found


def _learn(runs: RunsSeen, known: list[tuple[str, str, observed.TryFacts]]) -> None:
    """Keep the run facts that came with tries' facts (no read for their runs' starts)."""
    for dag_id, run_id, fact in known:
        runs.keep((dag_id, run_id), observed.RunFacts(fact.logical_date, fact.serialized_dag_id))


def _key4(key: TaskKey) -> observed.Key:
    return (key.dag_id, key.run_id, key.task_id, key.map_index)


def _start(noted: _Try, run: observed.RunFacts, dag: SerializedDag | None) -> records.TryRecord:
    """A try's start: what lineage's START event says of it."""
    return _record(
        noted,
        dag,
        start=noted.start,
        hostname=noted.hostname,
        pid=noted.pid,
        logical_date=run.logical_date,
    )


def _end(
    noted: _Try,
    fact: observed.TryFacts,
    dag: SerializedDag | None,
    log_folder: Path | None,
    executor: str,
) -> records.TryRecord:
    log = tasklogs.log_path(log_folder, noted.key) if log_folder else None
    return _record(
        noted,
        dag,
        start=noted.start or fact.start,
        end=noted.end,
        queued=fact.queued,
        hostname=fact.hostname,
        pid=fact.pid,
        pool=fact.pool,
        queue=fact.queue,
        priority_weight=fact.priority_weight,
        executor=executor,
        error=noted.error or fact.failure_reason,
        logical_date=fact.logical_date,
        log_path=str(log) if log else None,
    )


def _record(noted: _Try, dag: SerializedDag | None, **fields: Any) -> records.TryRecord:
    """The record of a noted try, with what its task in the DAG says (operator, assets)."""
    key = noted.key
    task = dag.tasks.get(key.task_id) if dag is not None else None
    return records.TryRecord(
        key.dag_id,
        key.run_id,
        key.task_id,
        key.map_index,
        key.try_number,
        noted.state,
        operator=f"{task.operator_module}.{task.operator}" if task else None,
        inlets=task.inlets if task else (),
        outlets=task.outlets if task else (),
        **fields,
    )
