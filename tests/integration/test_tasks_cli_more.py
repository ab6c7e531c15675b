"""``tradewind tasks render``, ``tasks logs`` and ``db shell`` as a user runs them (SQLite)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy.engine import Engine

from tradewind.settings import Settings, child_environ
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey

Cli = Callable[..., Result]
RUN_ID = "test__2024-01-02T00:00:00+00:00"

DAGS = """
from datetime import datetime, timedelta

from tradewind import DAG
from tradewind.operators import BashOperator

with DAG("greet", schedule="@daily", start_date=datetime(2024, 1, 1), params={"who": "world"}):
    hello = BashOperator(
        task_id="hello",
        bash_command="echo hello {{ params.who }} on {{ ds }}",
        env={"STAMP": "{{ ds_nodash }}", "TOKEN": "{{ var.value.api_token }}"},
    )
    broken = BashOperator(task_id="broken", bash_command="echo {{ nothing.here }}")
    flaky = BashOperator(
        task_id="flaky", bash_command="exit 3", retries=1, retry_delay=timedelta(0)
    )
"""


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    sqlite_engine: Engine,
    tradewind_cli: Cli,
) -> Settings:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "greet.py").write_text(DAGS)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    made = make_settings(
        tmp_path,
        db_url=url,
        core={"dags_folder": str(folder), "load_examples": False, "executor": "sequential"},
    )
    assert tradewind_cli(made, "dags", "reserialize").exit_code == 0
    return made


def _error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_render_prints_each_template_field_rendered(settings: Settings, tradewind_cli: Cli) -> None:
    secret = "s3cr3t-token-value"
    assert tradewind_cli(settings, "variables", "set", "api_token", secret).exit_code == 0
    result = tradewind_cli(settings, "tasks", "render", "greet", "hello", "2024-03-04")
    assert result.exit_code == 0, result.output
    assert "# property: bash_command" in result.stdout
    assert "echo hello world on 2024-03-04" in result.stdout
    fields = json.loads(
        tradewind_cli(
            settings, "tasks", "render", "greet", "hello", "2024-03-04", "--json", "-c", '{"x": 1}'
        ).stdout
    )
    assert fields["bash_command"] == "echo hello world on 2024-03-04"
    assert fields["env"]["STAMP"] == "20240304"
    # A secret a template read is masked, as in the UI's rendered view.
    assert secret not in json.dumps(fields)
    assert fields["env"]["TOKEN"] == "***"


def test_render_errors_are_one_line(settings: Settings, tradewind_cli: Cli) -> None:
    _error(
        tradewind_cli(settings, "tasks", "render", "greet", "broken"),
        "cannot render the templates of 'broken': jinja2.exceptions.UndefinedError: 'nothing'",
    )
    _error(tradewind_cli(settings, "tasks", "render", "greet", "ghost"), "no task 'ghost'")
    bad_date = tradewind_cli(settings, "tasks", "render", "greet", "hello", "soon")
    assert bad_date.exit_code == 2
    assert "is not a date" in bad_date.output


def test_logs_prints_the_log_of_a_try(settings: Settings, tradewind_cli: Cli) -> None:
    # A run whose task had two tries; each try's log is where the task runner writes it.
    assert tradewind_cli(settings, "dags", "test", "greet", "2024-01-02").exit_code == 1
    for try_number in (1, 2):
        path = log_path(
            settings.logging.base_log_folder, TaskKey("greet", RUN_ID, "flaky", -1, try_number)
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"try {try_number} says héllo\n")
    args = ("tasks", "logs", "greet", "flaky", RUN_ID)
    latest = tradewind_cli(settings, *args)
    assert latest.exit_code == 0, latest.output
    assert latest.stdout == "try 2 says héllo\n"
    assert tradewind_cli(settings, *args, "--try", "1").stdout == "try 1 says héllo\n"
    _error(tradewind_cli(settings, *args, "--try", "3"), "has had 2 tries; there is no try 3")
    _error(tradewind_cli(settings, *args, "-m", "0"), "no instance of map index 0")
    _error(
        tradewind_cli(settings, "tasks", "logs", "greet", "flaky", "nope"),
        "no DAG run 'nope' of DAG 'greet'",
    )


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 client is not installed")
def test_db_shell_opens_sqlite3_on_the_metastore(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tradewind", "db", "shell"],
        input="SELECT 1;\nSELECT count(*) FROM dag;\n",
        env=child_environ(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_db_shell_without_the_client_says_so(
    settings: Settings, tradewind_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _error(tradewind_cli(settings, "db", "shell"), "the sqlite3 client is not installed")
