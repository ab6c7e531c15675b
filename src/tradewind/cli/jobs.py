"""``tradewind jobs check``: is a scheduler, triggerer or DAG processor alive? An exit code for
liveness probes (Kubernetes, systemd, a load balancer's script), as Airflow's."""

from __future__ import annotations

import socket

import click

from tradewind.cli._common import get_settings, open_metastore
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import triggers as trigger_store
from tradewind.metastore.types import utcnow
from tradewind.settings import Settings

# --job-type: our names and Airflow's, each to the job type recorded in the metastore.
JOB_TYPES = {
    "scheduler": job_store.SCHEDULER,
    "SchedulerJob": job_store.SCHEDULER,
    "triggerer": trigger_store.TRIGGERER,
    "TriggererJob": trigger_store.TRIGGERER,
    "dag-processor": job_store.DAG_PROCESSOR,
    "dag_processor": job_store.DAG_PROCESSOR,
    "DagProcessorJob": job_store.DAG_PROCESSOR,
}


def heartbeat_timeout(settings: Settings, job_type: str) -> float:
    """Seconds after its last heartbeat a job of this type counts as dead (as /health)."""
    if job_type == trigger_store.TRIGGERER:
        return settings.triggerer.job_timeout
    if job_type == job_store.DAG_PROCESSOR:
        return settings.dag_processor.health_check_threshold
    return settings.scheduler.job_timeout


@click.group()
def jobs() -> None:
    """Check the liveness of the long-running components."""


@jobs.command()
@click.option(
    "--job-type",
    type=click.Choice(sorted(JOB_TYPES)),
    default="scheduler",
    show_default=True,
    help="The component to look for.",
)
@click.option("--hostname", help="Only jobs running on this host.")
@click.option("--local", is_flag=True, help="Only jobs running on this host (its hostname).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Look at this many alive jobs at most.",
)
@click.option("--allow-multiple", is_flag=True, help="Several alive jobs are fine too.")
def check(
    job_type: str, hostname: str | None, local: bool, limit: int, allow_multiple: bool
) -> None:
    """Exit 0 when a job of the type is alive (it heartbeated lately), 1 when none is, or when
    several are and --allow-multiple is not given."""
    if local and hostname:
        raise click.UsageError("give --hostname or --local, not both")
    settings = get_settings()
    kind = JOB_TYPES[job_type]
    host = socket.gethostname() if local else hostname
    with open_metastore() as sessions, sessions() as session:
        alive = job_store.alive_jobs(
            session, kind, now=utcnow(), timeout=heartbeat_timeout(settings, kind)
        )
    found = [job for job in alive if host is None or job.hostname == host][:limit]
    where = f" on {host}" if host else ""
    if not found:
        click.echo(f"No alive {kind} jobs found{where}.", err=True)
        raise SystemExit(1)
    if len(found) > 1 and not allow_multiple:
        click.echo(f"Found {len(found)} alive {kind} jobs{where}. Expected only one.", err=True)
        raise SystemExit(1)
    if len(found) == 1:
        job = found[0]
        which = f"id {job.id}, pid {job.pid} on {job.hostname}"
        click.echo(f"Found one alive {kind} job{where} ({which}).")
    else:
        click.echo(f"Found {len(found)} alive {kind} jobs{where}.")
