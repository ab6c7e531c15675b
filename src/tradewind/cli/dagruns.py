"""``tradewind dags trigger|state|list-runs``: runs of a DAG, created and read (commands of the
group in cli/dags.py; ``test`` and ``backfill``, which drive runs, are in cli/dagdrive.py). The
work is in the scheduler: scheduler/trigger.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from tradewind import limits
from tradewind.cli._common import emit, get_settings, open_metastore, output_option, user_errors
from tradewind.exceptions import TradewindError
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import runs as run_store
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
