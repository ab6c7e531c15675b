"""The DAG processor: find DAG files, parse the changed ones in children, store the results.

A file is re-executed only when its content changed: a scan stats every file, reads and hashes
only those whose mtime or size moved, and parses only those whose hash differs from the one in
the metastore. The metastore keeps that state, so a restart does not re-parse everything.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.resources
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tradewind import telemetry
from tradewind.metastore.store import dagfiles as dagfile_store
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import gauges
from tradewind.metastore.types import utcnow
from tradewind.parsing import children, discover, liveness, loader, serialize
from tradewind.settings import Settings

log = logging.getLogger(__name__)

WRITE_BATCH = 25  # files per metastore transaction: short transactions, few commits


@dataclass(frozen=True)
class ScanReport:
    files: int
    parsed: int
    unchanged: int
    with_errors: int
    dags: int
    removed_files: int
    seconds: float


@dataclass(frozen=True)
class _Candidate:
    path: Path
    mtime: float
    size: int
    content: bytes
    content_hash: str


def example_dags_folder() -> Path:
    return Path(str(importlib.resources.files("tradewind") / "example_dags"))


class DagProcessor:
    """Keeps the metastore's DAGs in line with the files under the DAGs folder."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._known: dict[str, dagfile_store.FileState] | None = None
        self._metrics = telemetry.OFF

    def folders(self) -> list[Path]:
        folders = [self._settings.core.dags_folder]
        if self._settings.core.load_examples:
            folders.append(example_dags_folder())
        return folders

    def list_files(self) -> list[Path]:
        return [path for folder in self.folders() for path in discover.iter_python_files(folder)]

    def scan(self, *, force: bool = False, tick: Callable[[], object] | None = None) -> ScanReport:
        """One pass: parse what changed, forget what disappeared. ``force`` re-parses everything.

        ``tick`` is called about every second while files are parsed (the heartbeat). A pass
        that fails (the metastore went away) leaves nothing half-known: the next pass reads
        the files' state from the metastore again and parses what was not written.
        """
        try:
            return self._scan(force, tick)
        except BaseException:
            self._known = None
            raise

    def _scan(self, force: bool, tick: Callable[[], object] | None) -> ScanReport:
        started = time.perf_counter()
        with self._sessions() as session:
            # A DAG deleted through the API or the CLI takes its file's record along: the
            # file is then parsed again (if it is still there), as Airflow does.
            if self._known is None or dagfile_store.count_present_files(session) < sum(
                state.is_present for state in self._known.values()
            ):
                self._known = dagfile_store.file_states(session)
        known = self._known
        paths = self.list_files()
        # Forget vanished files first: a DAG moved to a new file (a rename) then finds its
        # dag_id free instead of clashing with the file it left.
        removed = self._forget_missing(paths, known)
        candidates, unchanged = self._changed(paths, known, force)
        parsed = with_errors = dags = 0
        results = self._parse(candidates, tick)
        for batch in _batches(results, WRITE_BATCH):
            with self._sessions.begin() as session, session.no_autoflush:
                known_rows = dagfile_store.prefetch(session, batch)
                for parse in batch:
                    report = dagfile_store.save_file_parse(
                        session,
                        parse,
                        paused_at_creation=self._settings.core.dags_are_paused_at_creation,
                        now=self._clock(),
                        known=known_rows,
                    )
                    parsed += 1
                    self._file_parsed(parse)
                    dags += len(report.stored)
                    with_errors += bool(report.errors)
                    for error in report.errors:
                        log.warning("import error: %s", _summary(parse.fileloc, error))
                    known[parse.fileloc] = dagfile_store.FileState(
                        parse.fileloc,
                        parse.mtime,
                        parse.size,
                        parse.content_hash,
                        tuple(d.dag_id for d in parse.dags),
                        True,
                    )
        scanned = ScanReport(
            files=len(paths),
            parsed=parsed,
            unchanged=unchanged,
            with_errors=with_errors,
            dags=dags,
            removed_files=removed,
            seconds=time.perf_counter() - started,
        )
        self._scanned(scanned, known)
        return scanned

    def _file_parsed(self, parse: dagfile_store.FileParse) -> None:
        if self._metrics.on:
            timed_out = any(error.endswith(children.TIMED_OUT) for error in parse.errors)
            self._metrics.file_parsed(Path(parse.fileloc).stem, parse.duration, timed_out=timed_out)

    def _scanned(self, report: ScanReport, known: dict[str, dagfile_store.FileState]) -> None:
        """The metrics of a pass: its time, the DAGs there are, the files failing to import."""
        if not self._metrics.on:
            return
        with self._sessions() as session:
            import_errors = gauges.import_errors(session)
        dags = sum(len(state.dag_ids) for state in known.values() if state.is_present)
        self._metrics.dags_parsed(report.seconds, dags=dags, import_errors=import_errors)

    def _forget_missing(self, paths: list[Path], known: dict[str, dagfile_store.FileState]) -> int:
        present = {str(p) for p in paths}
        gone = [loc for loc, state in known.items() if state.is_present and loc not in present]
        if gone:
            with self._sessions.begin() as session:
                deactivated = dagfile_store.forget_files(session, gone)
            for loc in gone:
                state = known[loc]
                known[loc] = dagfile_store.FileState(loc, state.mtime, state.size, "", (), False)
            log.info("files removed: %d; DAGs deactivated: %s", len(gone), deactivated)
            if deactivated:
                self._retry_files_with_errors(known)
        return len(gone)

    def _retry_files_with_errors(self, known: dict[str, dagfile_store.FileState]) -> None:
        """A file refused for a dag_id that a vanished file held may own it now: parse again."""
        with self._sessions() as session:
            failed = {error.filename for error in dag_store.list_import_errors(session)}
        for loc in failed & set(known):
            known[loc] = dataclasses.replace(known[loc], mtime=-1.0, content_hash="")

    def _changed(
        self, paths: list[Path], known: dict[str, dagfile_store.FileState], force: bool
    ) -> tuple[list[_Candidate], int]:
        candidates: list[_Candidate] = []
        unchanged = 0
        touched: list[tuple[str, float, int]] = []
        for path in paths:
            try:
                stat = path.stat()
                state = known.get(str(path))
                fresh = state is not None and state.is_present and not force
                if fresh and state and state.mtime == stat.st_mtime and state.size == stat.st_size:
                    unchanged += 1
                    continue
                content = path.read_bytes()
            except OSError as exc:
                log.warning("cannot read %s: %s", path, exc)
                continue
            digest = hashlib.sha256(content).hexdigest()
            if fresh and state and state.content_hash == digest:
                unchanged += 1
                touched.append((str(path), stat.st_mtime, stat.st_size))
                known[str(path)] = dagfile_store.FileState(
                    str(path), stat.st_mtime, stat.st_size, digest, state.dag_ids, True
                )
                continue
            candidates.append(_Candidate(path, stat.st_mtime, stat.st_size, content, digest))
        if touched:
            with self._sessions.begin() as session:
                for fileloc, mtime, size in touched:
                    dagfile_store.touch_file(session, fileloc, mtime, size)
        return candidates, unchanged

    def _parse(
        self, candidates: list[_Candidate], tick: Callable[[], object] | None
    ) -> Iterator[dagfile_store.FileParse]:
        """Parse candidates in children; files that need no import are answered directly."""
        settings = self._settings.dag_processor
        limit = int(settings.max_file_size_mb * 1024 * 1024)
        to_import: dict[str, _Candidate] = {}
        for cand in candidates:
            if cand.size > limit:
                message = (
                    f"{cand.path}: the file is {cand.size / 1048576:.1f} MB, over the "
                    f"{settings.max_file_size_mb:g} MB limit (dag_processor.max_file_size_mb)"
                )
                yield _file_parse(cand, [], [message], 0.0, keep_source=False)
            elif settings.safe_mode and not discover.might_contain_dag(cand.path, cand.content):
                yield _file_parse(cand, [], [], 0.0, keep_source=False)
            else:
                to_import[str(cand.path)] = cand
        if not to_import:
            return
        results = children.parse_files(
            [c.path for c in to_import.values()],
            processes=settings.parsing_processes,
            timeout=settings.file_parse_timeout,
            sys_path=[str(self._settings.core.dags_folder)],
            memory_limit_mb=settings.parsing_memory_limit_mb,
            tick=tick,
        )
        now = self._clock()
        for result in results:
            cand = to_import[result.fileloc]
            records, errors = _records(result, now)
            yield _file_parse(cand, records, errors, result.duration, keep_source=True)

    def run_forever(self, stop: threading.Event) -> None:
        """Scan every ``dag_processor.refresh_interval`` seconds until ``stop`` is set,
        heartbeating; a pass that fails (the metastore is away) is tried again with back-off."""
        interval = self._settings.dag_processor.refresh_interval
        alive = liveness.Liveness(self._settings, self._sessions, clock=self._clock)
        self._metrics = telemetry.metrics_for(self._settings.metrics, "dag_processor")
        self._metrics.start()
        try:
            while not stop.is_set():
                alive.beat()
                try:
                    report = self.scan(tick=alive.beat)
                except Exception as exc:  # logged; the next pass tries again
                    alive.wait(stop, alive.failed(exc))
                    continue
                alive.succeeded()
                if report.parsed or report.removed_files:
                    log.info(
                        "parsed %d of %d files in %.2fs (%d DAGs, %d files with errors)",
                        report.parsed,
                        report.files,
                        report.seconds,
                        report.dags,
                        report.with_errors,
                    )
                alive.wait(stop, interval)
        finally:
            alive.end()
            self._metrics.close()


def _records(
    result: loader.ParsedFile, now: datetime
) -> tuple[list[dagfile_store.DagRecord], list[str]]:
    """Rows for the ``dag`` table from the serialized form (checked in the child already)."""
    errors = [e.stacktrace or e.message for e in result.errors]
    records = []
    for parsed in result.dags:
        data = parsed.data
        first = parsed.first_run
        records.append(
            dagfile_store.DagRecord(
                dag_id=parsed.dag_id,
                data=data,
                hash=parsed.hash,
                description=data.get("description"),
                owners=", ".join(data.get("owners") or ()) or None,
                schedule_description=str(data.get("schedule")),
                timezone=str(data.get("timezone") or "UTC"),
                max_active_runs=int(data.get("max_active_runs") or 16),
                max_active_tasks=int(data.get("max_active_tasks") or 16),
                tags=tuple(data.get("tags") or ()),
                is_paused_upon_creation=data.get("is_paused_upon_creation"),
                first_run=(
                    (
                        datetime.fromisoformat(first[0]),
                        datetime.fromisoformat(first[1]),
                        datetime.fromisoformat(first[2]),
                        datetime.fromisoformat(first[3]),
                    )
                    if first
                    else None
                ),
                scheduling=functools.partial(serialize.deserialize_dag, data),
            )
        )
    return records, errors


def _summary(fileloc: str, error: str) -> str:
    """One line for the log; a traceback's last line names the exception but not the file."""
    lines = error.strip().splitlines()
    last = lines[-1] if lines else "unknown error"
    return last if fileloc in last else f"{fileloc}: {last}"


def _file_parse(
    cand: _Candidate,
    records: list[dagfile_store.DagRecord],
    errors: list[str],
    duration: float,
    *,
    keep_source: bool,
) -> dagfile_store.FileParse:
    source = cand.content.decode("utf-8", errors="replace") if keep_source else ""
    return dagfile_store.FileParse(
        fileloc=str(cand.path),
        mtime=cand.mtime,
        size=cand.size,
        content_hash=cand.content_hash,
        source=source,
        duration=duration,
        dags=records,
        errors=errors,
    )


def _batches(
    items: Iterable[dagfile_store.FileParse], size: int
) -> Iterator[list[dagfile_store.FileParse]]:
    batch: list[dagfile_store.FileParse] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def reserialize(settings: Settings, sessions: sessionmaker[Session]) -> ScanReport:
    """Parse every file once, changed or not (``tradewind dags reserialize``)."""
    return DagProcessor(settings, sessions).scan(force=True)
