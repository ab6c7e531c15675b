"""``tradewind dags details``, ``dags delete`` and ``dags show`` as a user runs them (SQLite)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tradewind.settings import Settings

Cli = Callable[..., Result]
SAMPLES = Path(__file__).parent / "dag_files"


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    sqlite_engine: Engine,
    tradewind_cli: Cli,
) -> Settings:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in ("good_chain.py", "good_taskflow.py"):
        shutil.copy(SAMPLES / name, folder / name)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    made = make_settings(
        tmp_path, db_url=url, core={"dags_folder": str(folder), "load_examples": False}
    )
    assert tradewind_cli(made, "dags", "reserialize").exit_code == 0
    return made


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_details_as_json_and_as_text(settings: Settings, tradewind_cli: Cli) -> None:
    details = json.loads(
        _ok(tradewind_cli(settings, "dags", "details", "good_chain", "-o", "json"))
    )
    assert details["dag_id"] == "good_chain"
    assert details["schedule"] == "@daily"
    assert details["start_date"].startswith("2024-01-01T00:00:00")
    assert details["description"] == "three tasks in a line"
    assert sorted(details["tags"]) == ["chain", "sample"]
    assert details["version"] == 1
    lines = _ok(tradewind_cli(settings, "dags", "details", "good_chain")).splitlines()
    fields = {line.split(None, 1)[0]: line.split(None, 1)[1:] for line in lines}
    assert fields["dag_id"] == ["good_chain"]
    assert fields["description"] == ["three tasks in a line"]
    assert fields["tags"] in (["chain, sample"], ["sample, chain"])
    assert fields["catchup"] == [str(details["catchup"])]
    _error(tradewind_cli(settings, "dags", "details", "ghost"), "no DAG 'ghost'")


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        query = text(f"SELECT count(*) FROM {table} WHERE dag_id = 'good_chain'")
        return int(connection.execute(query).scalar_one())


def test_delete_asks_first_then_removes_the_dag_and_its_runs(
    settings: Settings, tradewind_cli: Cli, sqlite_engine: Engine
) -> None:
    _ok(tradewind_cli(settings, "dags", "trigger", "good_chain"))
    assert _count(sqlite_engine, "dag_run") == 1
    # Without a terminal to answer, nothing is deleted.
    _error(tradewind_cli(settings, "dags", "delete", "good_chain"), "pass --yes")
    assert _count(sqlite_engine, "dag") == 1
    out = _ok(tradewind_cli(settings, "dags", "delete", "good_chain", "--yes"))
    assert out == "Deleted DAG good_chain.\n"
    assert _count(sqlite_engine, "dag") == 0
    assert _count(sqlite_engine, "dag_run") == 0
    assert _count(sqlite_engine, "task_instance") == 0
    assert _count(sqlite_engine, "audit_log") == 1
    listed = json.loads(_ok(tradewind_cli(settings, "dags", "list", "-o", "json")))
    assert [row["dag_id"] for row in listed] == ["good_taskflow"]
    _error(tradewind_cli(settings, "dags", "delete", "good_chain", "-y"), "no DAG 'good_chain'")


def test_show_as_dot_and_saved(settings: Settings, tradewind_cli: Cli, tmp_path: Path) -> None:
    dot = _ok(tradewind_cli(settings, "dags", "show", "good_chain", "--format", "dot"))
    assert dot.startswith('digraph "good_chain" {')
    assert '"extract" -> "transform";' in dot
    assert '"transform" -> "load";' in dot
    target = tmp_path / "graph.dot"
    saved = _ok(tradewind_cli(settings, "dags", "show", "good_chain", "--save", str(target)))
    assert saved == f"Saved the graph of good_chain to {target} (dot).\n"
    assert target.read_text() == dot
    bad = tradewind_cli(settings, "dags", "show", "good_chain", "--save", str(tmp_path / "g.jpg"))
    assert bad.exit_code == 2
    assert "cannot tell the format of 'g.jpg'" in bad.output


def test_show_svg_needs_graphviz(
    settings: Settings, tradewind_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _error(
        tradewind_cli(settings, "dags", "show", "good_chain", "--format", "svg"),
        "needs Graphviz's `dot` program, which is not on the PATH",
    )
    # A stand-in `dot` that echoes what it was given shows that the DOT source is what it draws.
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    fake = bin_folder / "dot"
    fake.write_text('#!/bin/sh\necho "<svg format=$1>"\ncat\necho "</svg>"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}/usr/bin:/bin")
    target = tmp_path / "graph.svg"
    _ok(tradewind_cli(settings, "dags", "show", "good_chain", "--save", str(target)))
    drawn = target.read_text()
    assert drawn.startswith("<svg format=-Tsvg>")
    assert '"extract" -> "transform";' in drawn
