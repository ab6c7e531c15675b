"""``tradewind dags ...`` and ``tradewind dag-processor`` as a user runs them, on each dialect."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from tradewind.settings import Settings, child_environ

SAMPLES = Path(__file__).parent / "dag_files"
Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "Traceback" not in result.output
    assert expected in result.output


def _settings(make_settings: SettingsMaker, tmp_path: Path, url: str, *names: str) -> Settings:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)
    return make_settings(tmp_path, url, core={"dags_folder": str(folder), "load_examples": False})


@pytest.fixture
def settings(make_settings: SettingsMaker, tmp_path: Path, migrated_db_url: str) -> Settings:
    """An initialised metastore and a DAGs folder with two good DAGs and a broken file."""
    return _settings(
        make_settings,
        tmp_path,
        migrated_db_url,
        "good_chain.py",
        "good_taskflow.py",
        "bad_raises.py",
    )


@pytest.fixture
def parsed(settings: Settings, tradewind_cli: Cli) -> Settings:
    """The same, after one `tradewind dags reserialize`."""
    out = _ok(tradewind_cli(settings, "dags", "reserialize"))
    assert "Parsed 3 files" in out
    assert "2 DAGs" in out
    return settings


def _listed(settings: Settings, tradewind_cli: Cli, *args: str) -> list[dict[str, object]]:
    rows = json.loads(_ok(tradewind_cli(settings, "dags", "list", "-o", "json", *args)))
    assert isinstance(rows, list)
    return rows


def test_dag_processor_once_registers_then_skips_unchanged_files(
    settings: Settings, tradewind_cli: Cli
) -> None:
    first = _ok(tradewind_cli(settings, "dag-processor", "--once"))
    assert "3 files, 3 parsed, 0 unchanged, 2 DAGs, 1 with import errors" in first
    second = _ok(tradewind_cli(settings, "dag-processor", "--once"))
    assert "3 files, 0 parsed, 3 unchanged" in second
    assert [row["dag_id"] for row in _listed(settings, tradewind_cli)] == [
        "good_chain",
        "good_taskflow",
    ]


def test_list_json_has_the_documented_fields(parsed: Settings, tradewind_cli: Cli) -> None:
    rows = _listed(parsed, tradewind_cli)
    chain = next(row for row in rows if row["dag_id"] == "good_chain")
    assert chain["fileloc"] == str(parsed.core.dags_folder / "good_chain.py")
    assert chain["is_paused"] is True
    assert chain["schedule"] == "@daily"
    assert chain["tags"] == ["chain", "sample"]


def test_list_plain_is_one_tab_separated_line_per_dag(parsed: Settings, tradewind_cli: Cli) -> None:
    lines = _ok(tradewind_cli(parsed, "dags", "list", "-o", "plain")).splitlines()
    fields = [line.split("\t") for line in lines]
    assert [f[0] for f in fields] == ["good_chain", "good_taskflow"]
    assert fields[0][1] == str(parsed.core.dags_folder / "good_chain.py")
    assert "chain,sample" in fields[0]


def test_list_table_shows_every_dag(parsed: Settings, tradewind_cli: Cli) -> None:
    out = _ok(tradewind_cli(parsed, "dags", "list"))
    assert "good_chain" in out
    assert "good_taskflow" in out


def test_list_by_tag(parsed: Settings, tradewind_cli: Cli) -> None:
    assert [r["dag_id"] for r in _listed(parsed, tradewind_cli, "--tag", "chain")] == ["good_chain"]
    assert _listed(parsed, tradewind_cli, "--tag", "no-such-tag") == []
    both = _listed(parsed, tradewind_cli, "--tag", "chain", "--tag", "sample")
    assert [r["dag_id"] for r in both] == ["good_chain", "good_taskflow"]


def test_list_import_errors_json(parsed: Settings, tradewind_cli: Cli) -> None:
    out = _ok(tradewind_cli(parsed, "dags", "list-import-errors", "-o", "json"))
    (error,) = json.loads(out)
    assert error["filename"] == str(parsed.core.dags_folder / "bad_raises.py")
    assert "RuntimeError: the warehouse is unreachable" in error["error"]
    assert "line 9" in error["error"]


def test_list_import_errors_when_there_are_none(
    make_settings: SettingsMaker, tmp_path: Path, migrated_db_url: str, tradewind_cli: Cli
) -> None:
    settings = _settings(make_settings, tmp_path, migrated_db_url, "good_chain.py")
    _ok(tradewind_cli(settings, "dags", "reserialize"))
    assert "No import errors." in _ok(tradewind_cli(settings, "dags", "list-import-errors"))
    assert (
        json.loads(_ok(tradewind_cli(settings, "dags", "list-import-errors", "-o", "json"))) == []
    )


def test_show_prints_tasks_and_edges(parsed: Settings, tradewind_cli: Cli) -> None:
    lines = _ok(tradewind_cli(parsed, "dags", "show", "good_chain")).splitlines()
    assert lines[0].startswith("DAG good_chain")
    tasks = [line.split()[0] for line in lines[1:] if not line.strip().startswith(">>")]
    assert tasks == ["extract", "transform", "load"]
    assert sum(">> transform" in line for line in lines) == 1
    assert sum(">> load" in line for line in lines) == 1


def test_show_dot(parsed: Settings, tradewind_cli: Cli) -> None:
    out = _ok(tradewind_cli(parsed, "dags", "show", "good_chain", "--dot"))
    assert out.startswith('digraph "good_chain" {')
    assert '"extract" -> "transform";' in out
    assert '"transform" -> "load";' in out
    assert out.strip().endswith("}")


def test_pause_and_unpause(parsed: Settings, tradewind_cli: Cli) -> None:
    def paused() -> object:
        rows = _listed(parsed, tradewind_cli)
        return next(r["is_paused"] for r in rows if r["dag_id"] == "good_chain")

    assert "paused: False" in _ok(tradewind_cli(parsed, "dags", "unpause", "good_chain"))
    assert paused() is False
    assert "paused: True" in _ok(tradewind_cli(parsed, "dags", "pause", "good_chain"))
    assert paused() is True


def test_unknown_dag_id_is_a_one_line_error(parsed: Settings, tradewind_cli: Cli) -> None:
    for command in ("pause", "unpause", "show", "next-execution"):
        result = tradewind_cli(parsed, "dags", command, "no_such_dag")
        _one_line_error(result, "no DAG 'no_such_dag' is registered")


def test_next_execution_of_a_cron_dag(parsed: Settings, tradewind_cli: Cli) -> None:
    out = _ok(tradewind_cli(parsed, "dags", "next-execution", "good_chain", "-n", "3"))
    dates = [datetime.fromisoformat(line) for line in out.splitlines()]
    assert len(dates) == 3
    # @daily from 2024 without catchup: the next run is for the latest whole day, not 2024.
    assert dates[0] > datetime.now(UTC) - timedelta(days=3)
    assert dates[1] - dates[0] == dates[2] - dates[1] == timedelta(days=1)
    assert all(d.hour == d.minute == 0 for d in dates)


def test_next_execution_of_a_manual_dag_is_none(parsed: Settings, tradewind_cli: Cli) -> None:
    result = tradewind_cli(parsed, "dags", "next-execution", "good_taskflow")
    assert _ok(result).strip() == "None"


def test_commands_on_a_database_never_initialised(
    make_settings: SettingsMaker, tmp_path: Path, db_url: str, tradewind_cli: Cli
) -> None:
    settings = _settings(make_settings, tmp_path, db_url, "good_chain.py")
    for args in (
        ("dags", "list"),
        ("dags", "list-import-errors", "-o", "json"),
        ("dags", "show", "good_chain"),
        ("dags", "pause", "good_chain"),
        ("dags", "next-execution", "good_chain"),
        ("dags", "reserialize"),
        ("dag-processor", "--once"),
    ):
        _one_line_error(tradewind_cli(settings, *args), "run `tradewind db init`")


def test_dag_processor_once_as_a_real_process(settings: Settings) -> None:
    command = [sys.executable, "-m", "tradewind", "dag-processor", "--once"]
    done = subprocess.run(
        command,
        check=False,
        env=child_environ(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "3 parsed" in done.stdout
    # The broken file is logged to stderr with its file, not as a traceback of the processor.
    assert "bad_raises.py" in done.stderr
    assert "Traceback" not in done.stderr
