"""``tradewind dags test`` and ``tradewind dags backfill`` as a user runs them (SQLite):

- dags test parses the DAG files, runs one whole run in its own process (the tasks' logs on the
  terminal, the DAG left paused, so no other run joins it), prints each task's outcome and the
  run's state, and exits 1 when the run failed; testing a date again replaces its test run; an
  unknown DAG is a one-line error;
- dags backfill creates a run per scheduled interval of the range, says which existed already,
  runs them (unless --no-wait) and says that all succeeded; a bad range is a one-line error.

Every command here uses the sequential executor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tradewind.settings import Settings

Cli = Callable[..., Result]

DAGS = """
from datetime import datetime, timedelta

from tradewind import DAG
from tradewind.models import BaseOperator
from tradewind.operators import BashOperator
from tradewind.triggers.temporal import TimeDeltaTrigger

with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
    a = BashOperator(task_id="a", bash_command="echo a")
    a >> BashOperator(task_id="b", bash_command="echo b")

with DAG("failing", schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="x", bash_command="exit 3", retries=1, retry_delay=timedelta(0))

class Nap(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0.2)), method_name="woke")

    def woke(self, context, event):
        print("woke up after the nap")


with DAG("deferring", schedule=None, start_date=datetime(2024, 1, 1)):
    Nap(task_id="pause") >> BashOperator(task_id="after", bash_command="echo after")
"""


def _one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert expected in result.output


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], tmp_path: Path, sqlite_engine: Engine
) -> Settings:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dags.py").write_text(DAGS)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    return make_settings(
        tmp_path,
        db_url=url,
        core={"dags_folder": str(folder), "load_examples": False, "executor": "sequential"},
    )


def test_dags_test_runs_one_run_in_its_process_and_prints_each_task(
    settings: Settings, tradewind_cli: Cli, sqlite_engine: Engine
) -> None:
    result = tradewind_cli(settings, "dags", "test", "daily", "2024-01-02")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Each task's log comes on the terminal (stderr) as it runs, before the table of outcomes.
    logged = result.output[: result.output.index("┏")]
    assert "Running command: echo a" in logged
    assert "Running command: echo b" in logged
    assert [line.split()[1:4] for line in lines if line.startswith("│")] == [
        ["a", "│", "success"],
        ["b", "│", "success"],
    ]
    assert lines[-1] == "Run test__2024-01-02T00:00:00+00:00: success"
    # The test run is the only run: the DAG stays paused, so no scheduled run joins it.
    with sqlite_engine.connect() as connection:
        runs = connection.execute(text("SELECT run_id FROM dag_run WHERE dag_id = 'daily'"))
        assert [row.run_id for row in runs] == ["test__2024-01-02T00:00:00+00:00"]
        paused = connection.execute(text("SELECT is_paused FROM dag WHERE dag_id = 'daily'"))
        assert paused.scalar_one()

    # Testing the same date again replaces the earlier test run.
    again = tradewind_cli(settings, "dags", "test", "daily", "2024-01-02")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == "Run test__2024-01-02T00:00:00+00:00: success"
    _one_line_error(tradewind_cli(settings, "dags", "test", "ghost"), "no DAG 'ghost'")


def test_dags_test_of_a_failing_run_exits_1(settings: Settings, tradewind_cli: Cli) -> None:
    result = tradewind_cli(settings, "dags", "test", "failing", "2024-01-02")
    assert result.exit_code == 1, result.output
    # Its one retry ran too (in this process, when due), and failed again.
    rows = [line.split()[1:6] for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows == [["x", "│", "failed", "│", "2"]]
    assert result.stdout.splitlines()[-1] == "Run test__2024-01-02T00:00:00+00:00: failed"


def test_dags_test_runs_a_deferred_tasks_trigger_itself(
    settings: Settings, tradewind_cli: Cli
) -> None:
    # No triggerer in a test: the trigger runs in the test's process, and the task resumes.
    result = tradewind_cli(settings, "dags", "test", "deferring", "2024-01-02")
    assert result.exit_code == 0, result.output
    assert "woke up after the nap" in result.output
    rows = [line.split()[1:6] for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows == [["after", "│", "success", "│", "1"], ["pause", "│", "success", "│", "1"]]


def test_dags_backfill_creates_and_runs_the_runs_of_a_range(
    settings: Settings, tradewind_cli: Cli
) -> None:
    assert tradewind_cli(settings, "dag-processor", "--once").exit_code == 0
    # The runs of a paused DAG wait (as a manual run's do): unpaused, they run.
    assert tradewind_cli(settings, "dags", "unpause", "daily").exit_code == 0
    args = ("dags", "backfill", "daily", "-s", "2024-01-01", "-e", "2024-01-03")
    result = tradewind_cli(settings, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Created 3 backfill runs of daily."
    assert result.stdout.splitlines()[-1] == "All backfill runs succeeded."
    # The progress counts whole runs and the task instances of those runs.
    lines = result.stdout.splitlines()[1:3]
    bars = {line.split("━")[0].strip(): line.split()[-2] for line in lines}
    assert bars == {"runs finished": "3/3", "tasks finished": "6/6"}

    wider = ("dags", "backfill", "daily", "-s", "2024-01-01", "-e", "2024-01-04", "--no-wait")
    result = tradewind_cli(settings, *wider)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Created 1 backfill runs of daily.",
        "3 runs existed already and were left alone.",
    ]

    before_start = ("dags", "backfill", "daily", "-s", "2023-06-01", "-e", "2023-06-30")
    result = tradewind_cli(settings, *before_start)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Created 0 backfill runs of daily.",
        "None to create: the range ends before the DAG's start_date "
        "(2024-01-01T00:00:00+00:00): nothing is scheduled before it.",
    ]

    backwards = ("dags", "backfill", "daily", "-s", "2024-01-05", "-e", "2024-01-03")
    _one_line_error(tradewind_cli(settings, *backwards), "the start date is after the end date")
    unscheduled = ("dags", "backfill", "failing", "-s", "2024-01-01", "-e", "2024-01-03")
    _one_line_error(tradewind_cli(settings, *unscheduled), "has no schedule to backfill")
