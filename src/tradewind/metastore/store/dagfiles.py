"""What the DAG processor writes: the state of each DAG file, a file's parse (its DAGs, their
serialized versions, its code and import errors) and the files that disappeared.

Reads of registered DAGs: store/dags.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tradewind import timetables
from tradewind.metastore.models import (
    DagCode,
    DagFile,
    DagModel,
    DagRun,
    DagTag,
    ParseImportError,
    SerializedDagModel,
)
from tradewind.metastore.store import assets as asset_store
from tradewind.metastore.store.dags import fileloc_hash, last_automated_interval
from tradewind.states import DagRunType


@dataclass(frozen=True)
class FileState:
    """What the metastore remembers of a DAG file from its last parse."""

    fileloc: str
    mtime: float
    size: int
    content_hash: str
    dag_ids: tuple[str, ...]
    is_present: bool


class Schedulable(Protocol):
    """What the store needs of a DAG to compute its next scheduled run."""

    def next_dagrun_info(
        self, last_automated_data_interval: timetables.DataInterval | None, now: datetime | None
    ) -> timetables.DagRunInfo | None: ...


@dataclass(frozen=True)
class DagRecord:
    """One DAG found in a file: its serialized form and the columns of the ``dag`` table."""

    dag_id: str
    data: dict[str, Any]
    hash: str
    description: str | None
    owners: str | None
    schedule_description: str
    timezone: str
    max_active_runs: int
    max_active_tasks: int
    tags: tuple[str, ...]
    is_paused_upon_creation: bool | None
    # The first run's plan (logical date, interval start, interval end, run after) for a DAG
    # with no scheduled run yet, computed where the DAG was parsed.
    first_run: tuple[datetime, datetime, datetime, datetime] | None
    # Only called when the DAG already has scheduled runs (deserializing costs time).
    scheduling: Callable[[], Schedulable]


@dataclass(frozen=True)
class FileParse:
    """The outcome of parsing one file, ready to store."""

    fileloc: str
    mtime: float
    size: int
    content_hash: str
    source: str
    duration: float
    dags: Sequence[DagRecord] = ()
    errors: Sequence[str] = ()


@dataclass
class SaveReport:
    stored: list[str] = field(default_factory=list)
    new_dags: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def file_states(session: Session) -> dict[str, FileState]:
    rows = session.scalars(select(DagFile)).all()
    return {
        row.fileloc: FileState(
            row.fileloc, row.mtime, row.size, row.content_hash, tuple(row.dag_ids), row.is_present
        )
        for row in rows
    }


def count_present_files(session: Session) -> int:
    return session.scalar(select(func.count()).where(DagFile.is_present.is_(True))) or 0


def touch_file(session: Session, fileloc: str, mtime: float, size: int) -> None:
    """Remember a new mtime for a file whose content did not change."""
    session.execute(
        update(DagFile)
        .where(DagFile.fileloc_hash == fileloc_hash(fileloc))
        .values(mtime=mtime, size=size, is_present=True)
    )


@dataclass
class Prefetched:
    """What saving a batch of files needs to know, read with a few queries for the batch."""

    latest: dict[str, tuple[int, str]]  # dag_id -> (version, hash)
    owners: dict[str, str]  # dag_id -> fileloc, for active DAGs of present files
    with_runs: set[str]  # DAGs that have scheduled runs already


def prefetch(session: Session, parses: Sequence[FileParse]) -> Prefetched:
    """Load the rows a batch touches into the session, and the facts it needs."""
    dag_ids = sorted({d.dag_id for p in parses for d in p.dags})
    hashes = [fileloc_hash(p.fileloc) for p in parses]
    if dag_ids:
        session.scalars(select(DagModel).where(DagModel.dag_id.in_(dag_ids))).all()
    session.scalars(select(DagFile).where(DagFile.fileloc_hash.in_(hashes))).all()
    session.scalars(select(DagCode).where(DagCode.fileloc_hash.in_(hashes))).all()
    latest: dict[str, tuple[int, str]] = {}
    owners: dict[str, str] = {}
    with_runs: set[str] = set()
    if dag_ids:
        newest = (
            select(SerializedDagModel.dag_id, func.max(SerializedDagModel.version).label("v"))
            .where(SerializedDagModel.dag_id.in_(dag_ids))
            .group_by(SerializedDagModel.dag_id)
            .subquery()
        )
        for dag_id, version, digest in session.execute(
            select(
                SerializedDagModel.dag_id, SerializedDagModel.version, SerializedDagModel.dag_hash
            ).join(
                newest,
                (newest.c.dag_id == SerializedDagModel.dag_id)
                & (newest.c.v == SerializedDagModel.version),
            )
        ).all():
            latest[dag_id] = (version, digest)
        owners = dict(
            session.execute(
                select(DagModel.dag_id, DagModel.fileloc)
                .join(DagFile, DagFile.fileloc_hash == DagModel.fileloc_hash)
                .where(
                    DagModel.dag_id.in_(dag_ids),
                    DagModel.is_active.is_(True),
                    DagFile.is_present.is_(True),
                )
            ).all()
        )
        with_runs = set(
            session.scalars(
                select(DagRun.dag_id)
                .where(
                    DagRun.dag_id.in_(dag_ids),
                    DagRun.run_type.in_([DagRunType.SCHEDULED.value, DagRunType.BACKFILL.value]),
                )
                .distinct()
            ).all()
        )
    return Prefetched(latest, owners, with_runs)


def save_file_parse(
    session: Session,
    parse: FileParse,
    *,
    paused_at_creation: bool,
    now: datetime,
    known: Prefetched | None = None,
) -> SaveReport:
    """Store a file's DAGs, source and import errors; deactivate DAGs the file no longer has.

    ``known`` (from :func:`prefetch`) saves the queries when files are stored in batches.
    """
    report = SaveReport()
    loc_hash = fileloc_hash(parse.fileloc)
    errors = list(parse.errors)
    if known is None:
        known = prefetch(session, [parse])
    kept = _unclaimed(parse, known, errors)
    for record in kept:
        _save_dag(
            session,
            record,
            fileloc=parse.fileloc,
            loc_hash=loc_hash,
            has_errors=bool(errors),
            now=now,
            paused_at_creation=paused_at_creation,
            report=report,
            known=known,
        )

    previous = session.get(DagFile, loc_hash)
    kept_ids = [r.dag_id for r in kept]
    report.stored = kept_ids
    if previous is not None:
        gone = sorted(set(previous.dag_ids) - set(kept_ids))
        if parse.errors:
            # A file that fails to import may still define them: they keep their last good
            # version, marked, until a parse without errors tells (as Airflow does).
            _mark_broken(session, gone, parse.fileloc)
            kept_ids = sorted({*kept_ids, *gone})
        else:
            report.deactivated.extend(_deactivate(session, gone, parse.fileloc))
    _save_file_row(session, row=previous, parse=parse, loc_hash=loc_hash, dag_ids=kept_ids, now=now)
    if parse.source:
        _save_code(session, parse, loc_hash, now)

    _save_import_errors(session, parse.fileloc, loc_hash, errors, now)
    report.errors = errors
    return report


def _unclaimed(parse: FileParse, known: Prefetched, errors: list[str]) -> list[DagRecord]:
    """The file's DAGs that no other file defines already; an error for each one that is."""
    parsed_ids = {d.dag_id for d in parse.dags}
    taken = {
        dag_id: where
        for dag_id, where in known.owners.items()
        if where != parse.fileloc and dag_id in parsed_ids
    }
    kept: list[DagRecord] = []
    for record in parse.dags:
        if record.dag_id in taken:
            errors.append(
                f"{parse.fileloc}: dag_id {record.dag_id!r} is already defined in "
                f"{taken[record.dag_id]}; this definition is ignored"
            )
        else:
            kept.append(record)
    return kept


def _save_import_errors(
    session: Session, fileloc: str, loc_hash: str, errors: list[str], now: datetime
) -> None:
    session.execute(delete(ParseImportError).where(ParseImportError.fileloc_hash == loc_hash))
    if errors:
        session.add(
            ParseImportError(
                filename=fileloc,
                fileloc_hash=loc_hash,
                timestamp=now,
                stacktrace="\n\n".join(errors),
            )
        )


def _save_dag(
    session: Session,
    record: DagRecord,
    *,
    fileloc: str,
    loc_hash: str,
    has_errors: bool,
    now: datetime,
    paused_at_creation: bool,
    report: SaveReport,
    known: Prefetched,
) -> None:
    row = session.get(DagModel, record.dag_id)
    if row is None:
        paused = record.is_paused_upon_creation
        row = DagModel(
            dag_id=record.dag_id,
            is_paused=paused_at_creation if paused is None else paused,
            created_at=now,
        )
        session.add(row)
        report.new_dags.append(record.dag_id)
    row.fileloc = fileloc
    row.fileloc_hash = loc_hash
    row.is_active = True
    row.description = record.description
    row.owners = record.owners
    row.schedule_description = record.schedule_description
    row.timezone = record.timezone
    row.max_active_runs = record.max_active_runs
    row.max_active_tasks = record.max_active_tasks
    row.has_import_errors = has_errors
    row.last_parsed_at = now
    wanted = set(record.tags)
    row.tags = [tag for tag in row.tags if tag.name in wanted]
    have = {tag.name for tag in row.tags}
    row.tags.extend(DagTag(dag_id=record.dag_id, name=name) for name in sorted(wanted - have))

    latest = known.latest.get(record.dag_id)
    if latest is None or latest[1] != record.hash:
        version = latest[0] + 1 if latest else 1
        session.add(
            SerializedDagModel(
                dag_id=record.dag_id,
                version=version,
                dag_hash=record.hash,
                data=record.data,
                created_at=now,
            )
        )
        known.latest[record.dag_id] = (version, record.hash)
        report.new_versions.append(record.dag_id)
        asset_store.register_dag(session, record.dag_id, record.data, now, first=latest is None)
        _plan_next_run(session, row, record, now, has_runs=record.dag_id in known.with_runs)
    known.owners[record.dag_id] = fileloc


def _plan_next_run(
    session: Session, row: DagModel, record: DagRecord, now: datetime, *, has_runs: bool
) -> None:
    """A new DAG or a new version of one (its schedule may have changed): plan its next run."""
    plan: tuple[datetime, datetime, datetime, datetime] | None = record.first_run
    last = last_automated_interval(session, record.dag_id) if has_runs else None
    if last is not None:
        info = record.scheduling().next_dagrun_info(timetables.DataInterval(*last), now)
        plan = (
            (info.logical_date, info.data_interval.start, info.data_interval.end, info.run_after)
            if info
            else None
        )
    row.next_dagrun = plan[0] if plan else None
    row.next_dagrun_data_interval_start = plan[1] if plan else None
    row.next_dagrun_data_interval_end = plan[2] if plan else None
    row.next_dagrun_create_after = plan[3] if plan else None


def _save_file_row(
    session: Session,
    *,
    row: DagFile | None,
    parse: FileParse,
    loc_hash: str,
    dag_ids: list[str],
    now: datetime,
) -> None:
    if row is None:
        row = DagFile(fileloc_hash=loc_hash, fileloc=parse.fileloc)
        session.add(row)
    row.mtime = parse.mtime
    row.size = parse.size
    row.content_hash = parse.content_hash
    row.last_parsed_at = now
    row.parse_duration = parse.duration
    row.dag_ids = dag_ids
    row.is_present = True


def _save_code(session: Session, parse: FileParse, loc_hash: str, now: datetime) -> None:
    code = session.get(DagCode, loc_hash)
    if code is None:
        session.add(
            DagCode(
                fileloc_hash=loc_hash,
                fileloc=parse.fileloc,
                source=parse.source,
                source_hash=parse.content_hash,
                last_updated=now,
            )
        )
    elif code.source_hash != parse.content_hash:
        code.source = parse.source
        code.source_hash = parse.content_hash


def _deactivate(session: Session, dag_ids: Sequence[str], fileloc: str) -> list[str]:
    if not dag_ids:
        return []
    session.execute(
        update(DagModel)
        .where(DagModel.dag_id.in_(dag_ids), DagModel.fileloc == fileloc)
        .values(is_active=False, has_import_errors=False)
    )
    return list(dag_ids)


def _mark_broken(session: Session, dag_ids: Sequence[str], fileloc: str) -> None:
    if dag_ids:
        session.execute(
            update(DagModel)
            .where(DagModel.dag_id.in_(dag_ids), DagModel.fileloc == fileloc)
            .values(has_import_errors=True)
        )


def forget_files(session: Session, filelocs: Iterable[str]) -> list[str]:
    """Files that disappeared: their DAGs become inactive and their import errors go."""
    deactivated: list[str] = []
    for fileloc in filelocs:
        loc_hash = fileloc_hash(fileloc)
        row = session.get(DagFile, loc_hash)
        if row is None:
            continue
        deactivated.extend(_deactivate(session, row.dag_ids, fileloc))
        row.is_present = False
        row.dag_ids = []
        session.execute(delete(ParseImportError).where(ParseImportError.fileloc_hash == loc_hash))
    return deactivated
