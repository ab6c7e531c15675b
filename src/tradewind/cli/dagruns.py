"""``tradewind dags trigger|state|list-runs|test|backfill``: the run side of the dags group
(cli/dags.py adds these commands to it). The work is in the scheduler: scheduler/trigger.py,
scheduler/backfill.py and scheduler/dagtest.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tradewind import limits
from tradewind.cli._common import emit, get_settings, open_metastore, output_option, user_errors
from tradewind.exceptions import TradewindError
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import runs as run_store
from tradewind.scheduler import backfill as backfills
from tradewind.scheduler import dagtest
from tradewind.scheduler.trigger import trigger_dag


def parse_when(value: str | None, what: str = "logical date") -> datetime | None:
    """ISO 8601 date or datetime; without a zone it is UTC."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{what} {value!r} is not an ISO 8601 date or datetime") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_conf(text: str | None) -> dict[str, Any] | None:
    """A run's conf from ``-c``: a JSON object within ``core.max_conf_mb``."""
    if text is None:
        return None
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"conf is not valid JSON: {exc}") from None
    if not isinstance(conf, dict):
        raise click.BadParameter("conf must be a JSON object")
    with user_errors(limits.TooLarge):
        limits.check_json("conf", conf, get_settings().core.max_conf_mb, "core.max_conf_mb")
    return conf


def run_row(run: DagRun) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": run.state,
        "run_type": run.run_type,
        "logical_date": run.logical_date.isoformat(),
        "start_date": run.start_date.isoformat() if run.start_date else None,
        "end_date": run.end_date.isoformat() if run.end_date else None,
    }


@click.command()
@click.argument("dag_id")
@click.option("-r", "--run-id", help="The run id (default: manual__<logical date>).")
@click.option("-c", "--conf", help="The run's conf, a JSON object.")
@click.option("-l", "--logical-date", help="ISO 8601 (default: now).")
@click.option("-o", "--output", type=click.Choice(["plain", "json"]), default="plain")
def trigger(
    dag_id: str, run_id: str | None, conf: str | None, logical_date: str | None, output: str
) -> None:
    """Create a manual run of a DAG; prints its run id."""
    parsed_conf = parse_conf(conf)
    when = parse_when(logical_date)
    with open_metastore() as sessions, sessions.begin() as session, user_errors(TradewindError):
        run = trigger_dag(
            session,
            dag_id,
            now=datetime.now(UTC),
            run_id=run_id,
            conf=parsed_conf,
            logical_date=when,
        )
        row = run_row(run)
    if output == "json":
        click.echo(json.dumps({k: row[k] for k in ("dag_id", "run_id", "logical_date", "state")}))
    else:
        click.echo(row["run_id"])


@click.command()
@click.argument("dag_id")
@click.argument("run_id")
def state(dag_id: str, run_id: str) -> None:
    """Print the state of a DAG run."""
    with open_metastore() as sessions, sessions() as session:
        run = run_store.get_run(session, dag_id, run_id)
    if run is None:
        raise click.ClickException(f"DAG {dag_id!r} has no run {run_id!r}")
    click.echo(run.state)


@click.command("list-runs")
@click.argument("dag_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@output_option
def list_runs(dag_id: str, limit: int, output: str) -> None:
    """List a DAG's runs, newest first."""
    with open_metastore() as sessions, sessions() as session:
        rows = [run_row(r) for r in run_store.list_runs(session, dag_id, limit=limit)]
    emit(rows, ["dag_id", "run_id", "state", "run_type", "logical_date", "end_date"], output)


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
