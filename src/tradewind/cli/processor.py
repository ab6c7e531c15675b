"""``tradewind dag-processor``: keep the registered DAGs in line with the DAG files."""

from __future__ import annotations

import click

from tradewind import telemetry
from tradewind.cli._common import (
    get_settings,
    open_metastore,
    setup_logging,
    stop_on_signals,
    user_errors,
)
from tradewind.parsing.processor import DagProcessor


@click.command("dag-processor")
@click.option("--once", is_flag=True, help="Scan the DAGs folder once and exit.")
def dag_processor(once: bool) -> None:
    """Parse DAG files as they appear and change (runs until stopped)."""
    settings = get_settings()
    setup_logging(settings)
    with open_metastore() as sessions:
        proc = DagProcessor(settings, sessions)
        if once:
            report = proc.scan()
            click.echo(
                f"{report.files} files, {report.parsed} parsed, {report.unchanged} unchanged, "
                f"{report.dags} DAGs, {report.with_errors} with import errors "
                f"({report.seconds:.2f}s)"
            )
            return
        stop = stop_on_signals()
        click.echo(
            f"DAG processor watching {', '.join(str(f) for f in proc.folders())} "
            f"every {settings.dag_processor.refresh_interval:g}s; Ctrl-C stops it."
        )
        with user_errors(telemetry.MissingExtra):
            proc.run_forever(stop)
