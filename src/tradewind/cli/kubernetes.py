"""``tradewind kubernetes generate-pod-yaml|cleanup-pods``: the kubernetes executor's pods
(the work is :func:`tradewind.executors.kubernetes.podspec.pod_yaml` and
:func:`tradewind.executors.kubernetes.orphans.cleanup`).

The kubernetes client is an optional extra; without it each command is a one-line error.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click

from tradewind.cli._common import get_settings, registered_fileloc, user_errors

INSTALL_HINT = (
    "tradewind kubernetes needs the kubernetes extra: pip install 'tradewind[kubernetes]'"
)


def _need_extra() -> None:
    try:
        import kubernetes  # noqa: F401
    except ModuleNotFoundError:
        raise click.ClickException(INSTALL_HINT) from None


@click.group()
def kubernetes() -> None:
    """Inspect and clean up the pods of the kubernetes executor."""


@kubernetes.command("generate-pod-yaml")
@click.argument("dag_id")
@click.argument("task_id")
@click.option("--run-id", default="manual__example", show_default=True)
@click.option("--try-number", type=int, default=1, show_default=True)
@click.option("--map-index", type=int, default=-1, show_default=True)
@click.option("--dag-file", help="The DAG file (default: the registered one).")
def generate_pod_yaml(
    *, dag_id: str, task_id: str, run_id: str, try_number: int, map_index: int, dag_file: str | None
) -> None:
    """Print the pod a try of DAG_ID.TASK_ID would run in."""
    _need_extra()
    from tradewind.exceptions import TaskNotFound
    from tradewind.executors.kubernetes import podspec
    from tradewind.runtime import dagfile
    from tradewind.workloads import TaskKey

    settings = get_settings()
    # Absolute, as a registered fileloc is: the pod does not run in this directory.
    fileloc = str(Path(dag_file).absolute()) if dag_file else registered_fileloc(dag_id)
    key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
    with user_errors(dagfile.DagLoadError, TaskNotFound):
        workload = dagfile.workload_of(fileloc, key)
    with user_errors(podspec.PodSpecError):
        text = podspec.pod_yaml(workload, settings)
    click.echo(text, nl=False)


@kubernetes.command("cleanup-pods")
@click.option("--min-age", type=float, default=3600.0, show_default=True, help="Seconds.")
@click.option("--dry-run", is_flag=True, help="Only list the pods that would be deleted.")
def cleanup_pods(min_age: float, dry_run: bool) -> None:
    """Delete tradewind's finished pods (Succeeded or Failed) older than --min-age, keeping
    their logs in the log folder first (unless kept already)."""
    _need_extra()
    from tradewind.executors.kubernetes import orphans
    from tradewind.executors.kubernetes.client import KubernetesApiError

    settings = get_settings()
    with user_errors(KubernetesApiError):
        orphans.cleanup(
            settings,
            min_age=min_age,
            dry_run=dry_run,
            say=click.echo,
            warn=partial(click.echo, err=True),
        )
