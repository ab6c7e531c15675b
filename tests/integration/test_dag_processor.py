"""The DAG processor against a real metastore on each dialect.

Each test gets a DAGs folder of its own (sample files from ./dag_files copied in) and a fresh
database at head. A scan's report and the rows it leaves are what the rest of tradewind (the
scheduler, the web server, the CLI) relies on.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import (
    DagCode,
    DagFile,
    DagModel,
    DagTag,
    ParseImportError,
    SerializedDagModel,
)
from tradewind.metastore.store import dags as dag_store
from tradewind.parsing import processor
from tradewind.parsing.processor import DagProcessor
from tradewind.settings import Settings

SAMPLES = Path(__file__).parent / "dag_files"
EXAMPLES = sorted(processor.example_dags_folder().glob("example_*.py"))
SettingsMaker = Callable[..., Settings]

CHAIN = """
from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

# {comment}
with DAG("edited", schedule="@daily", start_date=datetime(2024, 1, 1)):
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    {edges}
"""


class Clock:
    """A clock that moves one minute per reading, so every write time is told apart."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    return folder


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return engine_module.session_factory(engine)


@pytest.fixture
def new_processor(
    make_settings: SettingsMaker,
    tmp_path: Path,
    dags_folder: Path,
    engine: Engine,
    sessions: sessionmaker[Session],
) -> Callable[..., DagProcessor]:
    """A DagProcessor on the test's database; keyword arguments are settings sections."""

    def build(**sections: dict[str, Any]) -> DagProcessor:
        core = {"dags_folder": str(dags_folder), "load_examples": False, **sections.pop("core", {})}
        settings = make_settings(
            tmp_path, engine.url.render_as_string(False), core=core, **sections
        )
        return DagProcessor(settings, sessions, clock=Clock())

    return build


def _copy(folder: Path, *names: str) -> None:
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)


def _write(path: Path, text: str) -> None:
    """Write a file and move its mtime on, as an editor saving it a moment later would."""
    before = path.stat().st_mtime if path.exists() else None
    path.write_text(text)
    if before is not None:
        os.utime(path, (before + 10, before + 10))


def _rows(sessions: sessionmaker[Session], model: Any, **where: Any) -> list[Any]:
    with sessions() as session:
        query = select(model).filter_by(**where)
        return list(session.scalars(query).all())


def _dag(sessions: sessionmaker[Session], dag_id: str) -> DagModel:
    (row,) = _rows(sessions, DagModel, dag_id=dag_id)
    return row


def _errors(sessions: sessionmaker[Session]) -> dict[str, str]:
    return {Path(e.filename).name: e.stacktrace for e in _rows(sessions, ParseImportError)}


def _versions(sessions: sessionmaker[Session], dag_id: str) -> list[int]:
    rows = _rows(sessions, SerializedDagModel, dag_id=dag_id)
    return sorted(row.version for row in rows)


def test_first_scan_registers_dags_with_tags_versions_code_and_files(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py", "good_taskflow.py")
    report = new_processor().scan()
    assert (report.files, report.parsed, report.dags, report.with_errors) == (2, 2, 2, 0)

    chain = _dag(sessions, "good_chain")
    assert chain.fileloc == str(dags_folder / "good_chain.py")
    assert chain.is_active
    assert not chain.has_import_errors
    assert chain.schedule_description == "@daily"
    assert chain.description == "three tasks in a line"
    assert chain.next_dagrun is not None
    assert sorted(t.name for t in _rows(sessions, DagTag, dag_id="good_chain")) == [
        "chain",
        "sample",
    ]
    assert _dag(sessions, "good_taskflow").next_dagrun is None
    (serialized,) = _rows(sessions, SerializedDagModel, dag_id="good_chain")
    assert serialized.version == 1
    assert {t["task_id"] for t in serialized.data["tasks"]} == {"extract", "transform", "load"}
    code = {Path(c.fileloc).name: c.source for c in _rows(sessions, DagCode)}
    assert code["good_chain.py"] == (dags_folder / "good_chain.py").read_text()
    files = {Path(f.fileloc).name: f for f in _rows(sessions, DagFile)}
    assert files["good_taskflow.py"].dag_ids == ["good_taskflow"]
    assert files["good_chain.py"].is_present
    assert _errors(sessions) == {}


def test_second_scan_and_restart_parse_nothing_unchanged(
    new_processor: Callable[..., DagProcessor], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py", "good_taskflow.py", "bad_raises.py")
    first = new_processor()
    assert first.scan().parsed == 3
    again = first.scan()
    assert (again.parsed, again.unchanged) == (0, 3)
    # A new processor on the same metastore (a restart) knows the files from the database.
    restarted = new_processor().scan()
    assert (restarted.parsed, restarted.unchanged) == (0, 3)


def test_touched_file_is_reread_but_not_parsed_again(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py")
    proc = new_processor()
    proc.scan()
    (before,) = _rows(sessions, DagFile)
    path = dags_folder / "good_chain.py"
    os.utime(path, (before.mtime + 60, before.mtime + 60))

    report = proc.scan()
    assert (report.parsed, report.unchanged) == (0, 1)
    (after,) = _rows(sessions, DagFile)
    assert after.mtime == path.stat().st_mtime
    assert after.last_parsed_at == before.last_parsed_at
    assert _dag(sessions, "good_chain").last_parsed_at == before.last_parsed_at


def test_new_dependency_is_a_new_version_and_a_comment_is_not(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    path = dags_folder / "edited.py"
    _write(path, CHAIN.format(comment="v1", edges="a >> b"))
    proc = new_processor()
    proc.scan()
    assert _versions(sessions, "edited") == [1]

    _write(path, CHAIN.format(comment="only the comment changed", edges="a >> b"))
    assert proc.scan().parsed == 1
    assert _versions(sessions, "edited") == [1]
    (code,) = _rows(sessions, DagCode)
    assert "only the comment changed" in code.source

    _write(path, CHAIN.format(comment="v2", edges="a >> b >> c"))
    proc.scan()
    assert _versions(sessions, "edited") == [1, 2]
    with sessions() as session:
        latest = dag_store.latest_serialized(session, "edited")
        assert latest is not None
        tasks = {t["task_id"]: t for t in latest.data["tasks"]}
    assert "c" in str(tasks["b"])


def test_fixing_a_broken_file_clears_its_import_error(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    path = dags_folder / "edited.py"
    _write(path, CHAIN.format(comment="broken", edges="a >> b >>"))
    proc = new_processor()
    assert proc.scan().with_errors == 1
    assert "SyntaxError" in _errors(sessions)["edited.py"]
    assert _rows(sessions, DagModel) == []

    _write(path, CHAIN.format(comment="fixed", edges="a >> b"))
    assert proc.scan().with_errors == 0
    assert _errors(sessions) == {}
    assert _dag(sessions, "edited").is_active


def test_deleted_file_deactivates_its_dags_and_drops_its_errors(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py", "good_taskflow.py", "bad_raises.py")
    proc = new_processor()
    proc.scan()
    assert set(_errors(sessions)) == {"bad_raises.py"}

    (dags_folder / "good_chain.py").unlink()
    (dags_folder / "bad_raises.py").unlink()
    report = proc.scan()
    assert report.removed_files == 2
    assert not _dag(sessions, "good_chain").is_active
    assert _dag(sessions, "good_taskflow").is_active
    assert _errors(sessions) == {}
    with sessions() as session:
        assert [d.dag_id for d in dag_store.list_dags(session)] == ["good_taskflow"]

    # Put back, it is active again.
    _copy(dags_folder, "good_chain.py")
    proc.scan()
    assert _dag(sessions, "good_chain").is_active


def test_dag_removed_from_a_file_that_stays_is_deactivated(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    path = dags_folder / "edited.py"
    _write(path, CHAIN.format(comment="", edges=""))
    proc = new_processor()
    proc.scan()
    _write(path, "# tradewind: this file no longer defines a dag\n")
    proc.scan()
    assert not _dag(sessions, "edited").is_active
    assert _errors(sessions) == {}


def test_new_file_is_picked_up_by_the_next_scan(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py")
    proc = new_processor()
    proc.scan()
    _copy(dags_folder, "good_taskflow.py")
    report = proc.scan()
    assert (report.parsed, report.unchanged) == (1, 1)
    assert _dag(sessions, "good_taskflow").is_active


def test_dag_file_can_import_a_helper_module_from_the_dags_folder(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "uses_helper.py", "dag_helpers.py")
    report = new_processor().scan()
    assert report.with_errors == 0
    assert [t.name for t in _rows(sessions, DagTag, dag_id="uses_helper")] == ["from-helper"]
    # The helper defines no DAG and is not a DAG file: it is neither registered nor an error.
    assert [d.dag_id for d in _rows(sessions, DagModel)] == ["uses_helper"]


def test_bad_files_are_import_errors_while_good_files_register(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    bad = [p.name for p in SAMPLES.glob("bad_*.py")]
    _copy(dags_folder, *bad, "good_chain.py", "good_taskflow.py", "prints.py", "no_dag.py")
    _write(dags_folder / "bad_syntax.py", CHAIN.format(comment="", edges="a >>"))
    # 10 MB of comments after a valid DAG: over the default 5 MB limit, never imported.
    big = (SAMPLES / "good_chain.py").read_text().replace('"good_chain"', '"too_big"')
    _write(dags_folder / "bad_too_big.py", big + ("# padding\n" * 1_048_576))
    report = new_processor(dag_processor={"file_parse_timeout": 1}).scan()

    errors = _errors(sessions)
    expected = {"bad_syntax.py", "bad_too_big.py", *bad}
    assert set(errors) == expected
    assert report.with_errors == len(expected)
    lines = {
        "bad_syntax.py": 12,
        "bad_raises.py": 9,
        "bad_cycle.py": 8,
        "bad_duplicate_task.py": 10,
        "bad_missing_module.py": 5,
        "bad_orphan_task.py": 11,
    }
    for name, text in errors.items():
        path = str(dags_folder / name)
        assert path in text, text
        if name in lines:
            line = lines[name]
            assert f"{path}:{line}" in text or f'"{path}", line {line}' in text, text
    assert "over the 5 MB limit" in errors["bad_too_big.py"]
    assert "SIGSEGV" in errors["bad_segfault.py"]
    assert "longer than 1 s" in errors["bad_infinite_loop.py"]

    active = {d.dag_id for d in _rows(sessions, DagModel) if d.is_active}
    # The orphan task is an error, but the DAG beside it in the same file still registers.
    assert active == {"good_chain", "good_taskflow", "prints", "bad_orphan_task"}
    assert _dag(sessions, "bad_orphan_task").has_import_errors
    code = {Path(c.fileloc).name for c in _rows(sessions, DagCode)}
    assert "bad_too_big.py" not in code


def test_same_dag_id_in_a_second_file_is_an_error(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "same_id_first.py")
    proc = new_processor()
    proc.scan()
    _copy(dags_folder, "same_id_second.py")
    proc.scan()
    errors = _errors(sessions)
    assert set(errors) == {"same_id_second.py"}
    assert "already defined in" in errors["same_id_second.py"]
    assert str(dags_folder / "same_id_first.py") in errors["same_id_second.py"]
    dag = _dag(sessions, "same_id")
    assert dag.fileloc == str(dags_folder / "same_id_first.py")
    assert [t.name for t in _rows(sessions, DagTag, dag_id="same_id")] == ["first"]


def test_renamed_file_keeps_its_dag_registered(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py")
    proc = new_processor()
    proc.scan()
    (dags_folder / "good_chain.py").rename(dags_folder / "renamed.py")
    report = proc.scan()
    assert (report.parsed, report.removed_files, report.with_errors) == (1, 1, 0)
    dag = _dag(sessions, "good_chain")
    assert dag.is_active
    assert dag.fileloc == str(dags_folder / "renamed.py")
    assert _errors(sessions) == {}


def test_deleting_the_first_owner_of_a_dag_id_hands_it_to_the_second(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "same_id_first.py")
    proc = new_processor()
    proc.scan()
    _copy(dags_folder, "same_id_second.py")
    proc.scan()
    (dags_folder / "same_id_first.py").unlink()
    proc.scan()
    assert _errors(sessions) == {}
    dag = _dag(sessions, "same_id")
    assert dag.is_active
    assert dag.fileloc == str(dags_folder / "same_id_second.py")


def test_same_dag_id_in_two_new_files_registers_one_and_reports_the_other(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "same_id_first.py", "same_id_second.py")
    new_processor().scan()
    (error_file,) = _errors(sessions)
    owner = Path(_dag(sessions, "same_id").fileloc).name
    assert {error_file, owner} == {"same_id_first.py", "same_id_second.py"}


def test_safe_mode_never_imports_a_file_without_the_markers(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    marker = dags_folder.parent / "imported"
    _write(dags_folder / "script.py", f"open({str(marker)!r}, 'w').close()\nraise SystemExit(1)\n")
    assert new_processor().scan().with_errors == 0
    assert not marker.exists()
    assert _errors(sessions) == {}

    new_processor(dag_processor={"safe_mode": False}).scan(force=True)
    assert marker.exists()
    assert set(_errors(sessions)) == {"script.py"}


def _pausable(dag_id: str, upon_creation: bool | None) -> str:
    return CHAIN.format(comment="", edges="").replace(
        '"edited", schedule="@daily",',
        f'"{dag_id}", schedule="@daily", is_paused_upon_creation={upon_creation},',
    )


def test_paused_at_creation_setting_and_the_dags_own_choice(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    cases = {  # dag_id: (dags_are_paused_at_creation, is_paused_upon_creation, paused)
        "default_paused": (True, None, True),
        "own_unpaused": (True, False, False),
        "default_unpaused": (False, None, False),
        "own_paused": (False, True, True),
    }
    for setting in (True, False):
        for dag_id, (for_setting, upon_creation, _) in cases.items():
            if for_setting is setting:
                _write(dags_folder / f"{dag_id}.py", _pausable(dag_id, upon_creation))
        new_processor(core={"dags_are_paused_at_creation": setting}).scan()
    for dag_id, (_, _, paused) in cases.items():
        assert _dag(sessions, dag_id).is_paused is paused, dag_id

    # Once a DAG exists its pause state is the user's: a re-parse never resets it.
    with sessions.begin() as session:
        dag_store.set_paused(session, "default_paused", False)
    path = dags_folder / "default_paused.py"
    _write(path, path.read_text() + "    a >> b\n")
    assert new_processor().scan().parsed == 1
    assert _dag(sessions, "default_paused").is_paused is False


def test_example_dags_load_without_import_errors(
    new_processor: Callable[..., DagProcessor], sessions: sessionmaker[Session]
) -> None:
    report = new_processor(core={"load_examples": True}).scan()
    assert report.with_errors == 0
    assert _errors(sessions) == {}
    assert {d.dag_id for d in _rows(sessions, DagModel)} == {p.stem for p in EXAMPLES}


@pytest.fixture
def running(new_processor: Callable[..., DagProcessor]) -> Iterator[Callable[[], None]]:
    """Start ``run_forever`` in a thread on request; it is stopped and joined afterwards."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        proc = new_processor(dag_processor={"refresh_interval": 0.2})
        thread = threading.Thread(target=proc.run_forever, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()


def _wait_for_dag(sessions: sessionmaker[Session], dag_id: str) -> bool:
    """Poll the metastore for a DAG, for at most about 30 s (a bound, not a speed check)."""
    stop = threading.Event()
    for _ in range(300):
        if _rows(sessions, DagModel, dag_id=dag_id):
            return True
        stop.wait(0.1)
    return False


def test_run_forever_picks_up_a_new_file(
    running: Callable[[], None], sessions: sessionmaker[Session], dags_folder: Path
) -> None:
    _copy(dags_folder, "good_chain.py")
    running()
    assert _wait_for_dag(sessions, "good_chain")
    _copy(dags_folder, "good_taskflow.py")
    assert _wait_for_dag(sessions, "good_taskflow")
