"""Import one DAG file and turn what it defines into serialized DAGs and import errors.

:func:`import_dags` runs in the process that calls it and returns the DAG objects (the task
runner and ``dags test`` need those). :func:`load_file` wraps it for the DAG processor: it
validates and serializes, so that only plain JSON leaves the child process that parsed the file.

Both serve the ``airflow`` import namespace first (:func:`tradewind.compat.install`, unless a
real Airflow is importable), so Airflow DAG files import unchanged wherever tradewind imports
DAG files: the DAG processor, warm processes, task tries, ``dags test`` and ``tasks test``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradewind import compat
from tradewind.authoring import capture
from tradewind.authoring.dag import DAG
from tradewind.compat import finder as compat_finder
from tradewind.exceptions import DagDefinitionError
from tradewind.parsing import serialize

MAX_OUTPUT_CHARS = 20_000

# What DAG files import. A process that forks parsers or task
# tries loads these once first, so each child starts warm instead of importing them again.
WARM_MODULES = (
    "tradewind",
    "tradewind.authoring.dag_decorator",
    "tradewind.operators",
    "tradewind.operators.taskflow",
    "tradewind.sensors",
    "jsonschema",  # for Param schemas; a fifth of a second per child otherwise
)


def warm_imports() -> None:
    """Import what DAG files usually import (call before forking children that load DAGs),
    then define a small DAG of the common operators and throw it away: what defining one
    fills once per process (each operator class's accepted arguments, the abc checks, the UTC
    zone) is then filled in the parent, not again in every child it forks."""
    compat.install()
    for name in WARM_MODULES:
        importlib.import_module(name)
    _practice_dag()


def _practice_dag() -> None:
    from tradewind.operators import BashOperator, EmptyOperator, PythonOperator
    from tradewind.operators.taskflow import task

    with DAG("tradewind_warm_up", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):
        first = EmptyOperator(task_id="empty")
        second = PythonOperator(task_id="python", python_callable=_nothing)
        third = BashOperator(task_id="bash", bash_command="true")

        @task
        def taskflow() -> None:
            return None

        first >> second >> third >> taskflow()


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class FileError:
    """Why (part of) a file could not be loaded: a one-line message and the full text."""

    message: str
    stacktrace: str


@dataclass
class ImportedFile:
    """The DAG objects a file defined, and the errors met while importing it."""

    fileloc: str
    dags: list[DAG] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


@dataclass
class ParsedDag:
    dag_id: str
    data: dict[str, Any]
    hash: str
    # ISO texts: logical date, interval start, interval end, run after; None: never scheduled.
    first_run: list[str] | None = None


@dataclass
class ParsedFile:
    """What the DAG processor stores for one file: plain data only."""

    fileloc: str
    dags: list[ParsedDag] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    output: str = ""
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "fileloc": self.fileloc,
            "dags": [
                {"dag_id": d.dag_id, "data": d.data, "hash": d.hash, "first_run": d.first_run}
                for d in self.dags
            ],
            "errors": [{"message": e.message, "stacktrace": e.stacktrace} for e in self.errors],
            "output": self.output,
            "duration": self.duration,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ParsedFile:
        return cls(
            fileloc=raw["fileloc"],
            dags=[
                ParsedDag(d["dag_id"], d["data"], d["hash"], d.get("first_run"))
                for d in raw["dags"]
            ],
            errors=[FileError(e["message"], e["stacktrace"]) for e in raw["errors"]],
            output=raw.get("output", ""),
            duration=raw.get("duration", 0.0),
        )


def module_name_for(path: Path) -> str:
    """A module name that is unique per file path, so two ``etl.py`` files never collide."""
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:12]
    return f"tradewind_dag_{digest}_{path.stem}"


def _error_from(exc: BaseException, path: Path) -> FileError:
    if isinstance(exc, DagDefinitionError):
        return FileError(str(exc), str(exc))
    if isinstance(exc, SystemExit):
        message = f"{path}: the file called sys.exit({exc.code!r}) while being imported"
        return FileError(message, message)
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<frozen importlib")
        and frame.filename not in (__file__, compat_finder.__file__)
    ]
    text = "Traceback (most recent call last):\n" if frames else ""
    text += "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else str(path)
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        # The compiler raises before any frame of the file exists: the line is on the error.
        where = f"{exc.filename or path}:{exc.lineno}"
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    return FileError(f"{where}: {summary}", text)


def import_dags(path: Path) -> ImportedFile:
    """Import ``path`` as a fresh module and return the valid DAGs it defines and its errors.

    A copy of this process that the file forked at import ends as soon as the import returns
    in it (``os._exit(0)``): only the process that imported the file carries on, so a fork
    at import never makes a second parser, task try or warm process.
    """
    compat.install()
    result = ImportedFile(str(path))
    name = module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        result.errors.append(FileError(f"{path}: not a Python module", ""))
        return result
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    importer = os.getpid()
    with capture.capture() as captured:
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # a DAG file may raise anything, SystemExit included
            _leave_if_forked(importer)
            sys.modules.pop(name, None)
            result.errors.append(_error_from(exc, path))
            return result
        _leave_if_forked(importer)
    dags = list(captured.dags)
    dags.extend(v for v in vars(module).values() if isinstance(v, DAG) and v not in dags)
    seen: dict[str, DAG] = {}
    for dag in dags:
        if dag.dag_id in seen:
            first = seen[dag.dag_id]
            result.errors.append(
                _error_from(
                    DagDefinitionError(
                        f"dag_id {dag.dag_id!r} is defined twice in this file "
                        f"(first at line {first.lineno})",
                        fileloc=dag.fileloc,
                        lineno=dag.lineno,
                    ),
                    path,
                )
            )
            continue
        try:
            dag.validate()
        except DagDefinitionError as exc:
            result.errors.append(_error_from(exc, path))
            continue
        seen[dag.dag_id] = dag
        result.dags.append(dag)
    try:
        captured.check_orphans()
    except DagDefinitionError as exc:
        result.errors.append(_error_from(exc, path))
    return result


def _leave_if_forked(importer: int) -> None:
    if os.getpid() != importer:
        os._exit(0)


class _Tail(io.StringIO):
    """Keeps the last :data:`MAX_OUTPUT_CHARS` written, however much a file prints."""

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.tell() > 2 * MAX_OUTPUT_CHARS:
            tail = self.getvalue()[-MAX_OUTPUT_CHARS:]
            self.seek(0)
            self.truncate()
            super().write(tail)
        return written


@contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    buffer = _Tail()
    with redirect_stdout(buffer), redirect_stderr(buffer):
        yield buffer


def load_file(path: Path) -> ParsedFile:
    """Import, validate and serialize one DAG file; print()s during import are captured."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with _captured_output() as output:
        imported = import_dags(path)
        parsed = ParsedFile(str(path), errors=list(imported.errors))
        for dag in imported.dags:
            try:
                data = serialize.serialize_dag(dag)
                # What the scheduler will read back must load: check it here, in the child.
                info = serialize.deserialize_dag(data).next_dagrun_info(None, now)
            except Exception as exc:
                parsed.errors.append(_error_from(exc, path))
                continue
            first_run = None
            if info is not None:
                first_run = [
                    info.logical_date.isoformat(),
                    info.data_interval.start.isoformat(),
                    info.data_interval.end.isoformat(),
                    info.run_after.isoformat(),
                ]
            parsed.dags.append(ParsedDag(dag.dag_id, data, serialize.dag_hash(data), first_run))
    parsed.output = output.getvalue()[-MAX_OUTPUT_CHARS:]
    parsed.duration = time.perf_counter() - started
    return parsed
