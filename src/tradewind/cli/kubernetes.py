"""``tradewind kubernetes generate-pod-yaml|cleanup-pods``: the kubernetes executor's pods.

The kubernetes client is an optional extra; without it each command is a one-line error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextmanager
def _api_errors(doing: str) -> Iterator[None]:
    """The client's errors (no usable kubeconfig, the API out of reach, a request refused) as
    a one-line message and exit code 1."""
    import urllib3
    from kubernetes.client import ApiException
    from kubernetes.config import ConfigException

    from tradewind.executors.kubernetes.client import status_message

    try:
        yield
    except ConfigException as exc:
        raise click.ClickException(f"cannot configure the kubernetes client: {exc}") from None
    except ApiException as exc:
        detail = status_message(exc) or exc.reason
        message = f"the Kubernetes API refused to {doing}: {exc.status} {_one_line(detail)}"
        raise click.ClickException(message) from None
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        message = f"cannot reach the Kubernetes API to {doing}: {_one_line(reason)}"
        raise click.ClickException(message) from None


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
    import yaml

    from tradewind.exceptions import TaskNotFound
    from tradewind.executors.kubernetes import podspec
    from tradewind.runtime import dagfile
    from tradewind.workloads import TaskKey, Workload

    settings = get_settings()
    # Absolute, as a registered fileloc is: the pod does not run in this directory.
    fileloc = str(Path(dag_file).absolute()) if dag_file else registered_fileloc(dag_id)
    with user_errors(dagfile.DagLoadError, TaskNotFound):
        _, task = dagfile.load_task(Path(fileloc), dag_id, task_id)
    workload = Workload(
        TaskKey(dag_id, run_id, task_id, map_index, try_number),
        fileloc,
        priority_weight=task.priority_weight,
        queue=task.queue,
        executor_config=task.executor_config,
    )
    try:
        pod = podspec.build_pod(workload, settings)
    except podspec.PodSpecError as exc:
        # A YAML error spans several lines (the text around the error, a caret).
        raise click.ClickException(_one_line(exc)) from None
    click.echo(yaml.safe_dump(pod, sort_keys=False), nl=False)


@kubernetes.command("cleanup-pods")
@click.option("--min-age", type=float, default=3600.0, show_default=True, help="Seconds.")
@click.option("--dry-run", is_flag=True, help="Only list the pods that would be deleted.")
def cleanup_pods(min_age: float, dry_run: bool) -> None:
    """Delete tradewind's finished pods (Succeeded or Failed) older than --min-age, keeping
    their logs in the log folder first (unless kept already)."""
    _need_extra()
    from tradewind.executors.kubernetes import orphans
    from tradewind.executors.kubernetes.client import REQUEST_TIMEOUT, delete_pod, make_api

    settings = get_settings()
    namespace = settings.kubernetes.namespace
    with _api_errors(f"list the pods of namespace {namespace}"):
        api = make_api(settings.kubernetes)
        pods: Any = api.list_namespaced_pod(
            namespace, label_selector="app=tradewind", _request_timeout=REQUEST_TIMEOUT
        )
    cutoff = datetime.now(UTC) - timedelta(seconds=min_age)
    for pod in pods.items:
        phase = pod.status.phase if pod.status else None
        created = pod.metadata.creation_timestamp
        if phase not in ("Succeeded", "Failed") or (created is not None and created > cutoff):
            continue
        if dry_run:
            click.echo(f"would delete {pod.metadata.name} ({phase})")
            continue
        # Its try's log stays readable: kept first, unless its scheduler kept it already.
        raw = api.api_client.sanitize_for_serialization(pod)
        if not orphans.keep_log(api, namespace, raw, settings.logging.base_log_folder):
            click.echo(f"keeping {pod.metadata.name}: its log cannot be written here", err=True)
            continue
        click.echo(f"deleting {pod.metadata.name} ({phase})")
        with _api_errors(f"delete pod {pod.metadata.name}"):
            delete_pod(api, namespace, pod.metadata.name)
