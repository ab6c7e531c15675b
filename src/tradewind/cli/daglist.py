"""``tradewind dags``: list, pause, unpause and re-parse registered DAGs, and see when they
run next (the group itself is cli/dags.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from tradewind.cli._common import (
    emit,
    get_settings,
    open_metastore,
    output_option,
    setup_logging,
    user_errors,
)
from tradewind.exceptions import TradewindError
from tradewind.metastore.store import dags as dag_store
from tradewind.parsing import processor, registry


@click.command("list")
@output_option
@click.option("--tag", "tags", multiple=True, help="Only DAGs with this tag (repeatable).")
@click.option("--include-inactive", is_flag=True, help="Also DAGs whose file is gone.")
def list_(output: str, tags: tuple[str, ...], include_inactive: bool) -> None:
    """List the registered DAGs."""
    with open_metastore() as sessions, sessions() as session:
        rows = [
            {
                "dag_id": dag.dag_id,
                "fileloc": dag.fileloc,
                "is_paused": dag.is_paused,
                "is_active": dag.is_active,
                "has_import_errors": dag.has_import_errors,
                "schedule": dag.schedule_description,
                "tags": sorted(tag.name for tag in dag.tags),
                "owners": dag.owners,
                "next_dagrun": dag.next_dagrun.isoformat() if dag.next_dagrun else None,
            }
            for dag in dag_store.list_dags(session, tags=tags, include_inactive=include_inactive)
        ]
    columns = ["dag_id", "fileloc", "is_paused", "schedule", "tags", "owners", "has_import_errors"]
    emit(rows, columns, output)


@click.command("list-import-errors")
@output_option
def list_import_errors(output: str) -> None:
    """List the DAG files that failed to import, with the error."""
    with open_metastore() as sessions, sessions() as session:
        rows = [
            {"filename": e.filename, "error": e.stacktrace, "timestamp": e.timestamp.isoformat()}
            for e in dag_store.list_import_errors(session)
        ]
    if output == "table" and not rows:
        click.echo("No import errors.")
        return
    emit(rows, ["filename", "error"], output)


def _set_paused(dag_id: str, paused: bool) -> None:
    with open_metastore() as sessions, sessions.begin() as session:
        found = dag_store.set_paused(session, dag_id, paused)
    if not found:
        raise click.ClickException(f"no DAG {dag_id!r} is registered (see `tradewind dags list`)")
    click.echo(f"Dag: {dag_id}, paused: {paused}")


@click.command()
@click.argument("dag_id")
def pause(dag_id: str) -> None:
    """Pause a DAG: no new runs are scheduled and no tasks start."""
    _set_paused(dag_id, True)


@click.command()
@click.argument("dag_id")
def unpause(dag_id: str) -> None:
    """Unpause a DAG."""
    _set_paused(dag_id, False)


@click.command("next-execution")
@click.argument("dag_id")
@click.option("-n", "--num-executions", default=1, show_default=True, type=click.IntRange(1))
def next_execution(dag_id: str, num_executions: int) -> None:
    """Print the logical dates of the DAG's next scheduled runs."""
    with open_metastore() as sessions, sessions() as session, user_errors(TradewindError):
        infos = registry.next_executions(
            session, dag_id, count=num_executions, now=datetime.now(UTC)
        )
        dag = dag_store.get_dag(session, dag_id)
    if dag is not None and dag.is_paused:
        click.echo(
            f"Note: DAG {dag_id} is paused; no run is created until it is unpaused.", err=True
        )
    if not infos:
        click.echo("None")
    for info in infos:
        click.echo(info.logical_date.isoformat())


@click.command()
def reserialize() -> None:
    """Parse every DAG file once, changed or not, and store the results."""
    setup_logging(get_settings())
    with open_metastore() as sessions:
        report = processor.reserialize(get_settings(), sessions)
    click.echo(
        f"Parsed {report.parsed} files in {report.seconds:.2f}s: {report.dags} DAGs, "
        f"{report.with_errors} files with import errors."
    )
