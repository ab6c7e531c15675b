"""``tradewind dags test|backfill``: runs of a DAG driven to their end from the command line
(commands of the group in cli/dags.py). The work is in the scheduler: scheduler/dagtest.py
and scheduler/backfill.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tradewind.cli._common import emit, get_settings, open_metastore, user_errors
from tradewind.cli.dagruns import parse_conf, parse_when
from tradewind.exceptions import TradewindError
from tradewind.scheduler import backfill as backfills
from tradewind.scheduler import dagtest


def _progress_bar(total: int) -> tuple[Progress, Callable[[backfills.Progress], None]]:
    """Two bars: the runs finished, and their task instances finished (known once the
    scheduler has created them)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
    runs = bar.add_task("runs finished ", total=total)
    tasks = bar.add_task("tasks finished", total=None)

    def update(now: backfills.Progress) -> None:
        bar.update(runs, completed=now.runs_done)
        bar.update(tasks, completed=now.tasks_done, total=now.tasks or None)

    return bar, update


@click.command()
@click.argument("dag_id")
@click.option("-s", "--start-date", required=True, help="First logical date (ISO 8601).")
@click.option("-e", "--end-date", required=True, help="Last logical date (ISO 8601).")
@click.option("--no-wait", is_flag=True, help="Create the runs and return at once.")
def backfill(dag_id: str, start_date: str, end_date: str, no_wait: bool) -> None:
    """Create runs for every scheduled interval in a date range and run them."""
    settings = get_settings()
    start = parse_when(start_date, "start date") or datetime.now(UTC)
    end = parse_when(end_date, "end date") or datetime.now(UTC)
    with open_metastore() as sessions:
        with user_errors(TradewindError):
            created = backfills.create_backfill(sessions, dag_id, start, end)
        click.echo(f"Created {len(created.run_ids)} backfill runs of {dag_id}.")
        if created.reason is not None:
            click.echo(f"None to create: {created.reason}.")
        if created.existing:
            click.echo(f"{len(created.existing)} runs existed already and were left alone.")
        if no_wait or not created.run_ids:
            return
        bar, update = _progress_bar(len(created.run_ids))
        with bar:
            failed = backfills.wait_for_backfill(settings, sessions, created, progress=update)
    if failed:
        raise click.ClickException(f"{len(failed)} runs did not succeed: {', '.join(failed)}")
    click.echo("All backfill runs succeeded.")


@click.command("test")
@click.argument("dag_id")
@click.argument("logical_date", required=False)
@click.option("-c", "--conf", help="The run's conf, a JSON object.")
def test_(dag_id: str, logical_date: str | None, conf: str | None) -> None:
    """Run one whole DAG run now and print each task's outcome (for DAG authors)."""
    settings = get_settings()
    parsed_conf = parse_conf(conf)
    when = parse_when(logical_date) or datetime.now(UTC)
    with open_metastore() as sessions, user_errors(dagtest.DagTestError):
        result = dagtest.run_dag_test(
            settings, sessions, dag_id, logical_date=when, conf=parsed_conf
        )
    rows = [
        {
            "task_id": task.name,
            "state": task.state or "none",
            "try_number": task.try_number,
            "duration": f"{task.duration:.3f}s" if task.duration is not None else "",
        }
        for task in result.tasks
    ]
    emit(rows, ["task_id", "state", "try_number", "duration"], "table")
    click.echo(f"Run {result.run_id}: {result.state}")
    if not result.ok:
        raise SystemExit(1)
