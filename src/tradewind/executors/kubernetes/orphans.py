"""Finished pods that no scheduler follows any more, and cleaning them up.

A scheduler deletes the pods it follows when they end (by ``delete_worker_pods`` and
``delete_worker_pods_on_failure``). A pod that ended while its scheduler was gone, and that
no scheduler adopted, stays: the executor sweeps such pods now and then (:func:`sweep`), and
``tradewind kubernetes cleanup-pods`` deletes finished pods on demand (:func:`cleanup`). Before
a pod goes, its log is kept in its try's log file, unless that file exists already (the
scheduler that followed the pod kept it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradewind.executors.kubernetes import podlogs, podspec
from tradewind.executors.kubernetes.client import (
    REQUEST_TIMEOUT,
    api_errors,
    delete_pod,
    deletes,
    make_api,
)
from tradewind.settings import Settings
from tradewind.tasklogs import log_path
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)

FINISHED = frozenset({"Succeeded", "Failed"})


def finished_pods(api: Any, namespace: str) -> list[dict[str, Any]]:
    """tradewind's pods in ``namespace`` that have ended (Succeeded or Failed)."""
    response = api.list_namespaced_pod(
        namespace,
        label_selector=f"{podspec.APP_LABEL}={podspec.APP}",
        _preload_content=False,
        _request_timeout=REQUEST_TIMEOUT,
    )
    items = json.loads(response.data).get("items") or []
    return [p for p in items if (p.get("status") or {}).get("phase") in FINISHED]


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ended_at(pod: dict[str, Any]) -> datetime | None:
    """When the pod's containers ended (else when it started, else when it was created)."""
    status = pod.get("status") or {}
    ends = [
        _time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for s in status.get("containerStatuses") or []
    ]
    found = [t for t in ends if t is not None]
    if found:
        return max(found)
    return _time(status.get("startTime")) or _time(
        (pod.get("metadata") or {}).get("creationTimestamp")
    )


def age(pod: dict[str, Any], now: datetime | None = None) -> float:
    """Seconds since the pod ended (0 when it does not say)."""
    at = ended_at(pod)
    return 0.0 if at is None else ((now or datetime.now(UTC)) - at).total_seconds()


def name_of(pod: dict[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name") or "")


def scheduler_of(pod: dict[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(podspec.SCHEDULER) or "")


def key_of(pod: dict[str, Any]) -> TaskKey | None:
    """The try a pod ran, from its annotations (None for a pod that does not say)."""
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    try:
        return TaskKey(
            notes[podspec.DAG_ID],
            notes[podspec.RUN_ID],
            notes[podspec.TASK_ID],
            int(notes.get(podspec.MAP_INDEX, -1)),
            int(notes[podspec.TRY_NUMBER]),
        )
    except (KeyError, ValueError):
        return None


def keep_log(api: Any, namespace: str, pod: dict[str, Any], base_log_folder: Path) -> bool:
    """Keep the log of ``pod`` in its try's log file, unless that file exists already; False
    when the file cannot be written (the pod had better stay)."""
    key = key_of(pod)
    if key is None:
        return True  # not a try's pod: no log of a try to keep
    path = log_path(base_log_folder, key)
    if path.exists():
        return True
    kept = podlogs.keep(api, namespace, name_of(pod), path)
    if kept.unwritten:
        log.warning("cannot keep pod %s's log in %s: %s", name_of(pod), path, kept.unwritten)
    return not kept.unwritten


def sweep(api: Any, settings: Settings, *, mine: str, followed: set[str], grace: float) -> None:
    """Clean up the finished pods of schedulers other than ``mine`` that ended more than
    ``grace`` seconds ago and that no one follows, by ``settings``' deletion settings: each
    pod's log kept first; one whose log has nowhere to go stays."""
    namespace = settings.kubernetes.namespace
    try:
        pods = finished_pods(api, namespace)
    except Exception as exc:
        log.warning("cannot look for orphaned pods: %s", exc)
        return
    for pod in pods:
        name = name_of(pod)
        phase = (pod.get("status") or {}).get("phase")
        if (
            scheduler_of(pod) == mine
            or name in followed
            or age(pod) < grace
            or not deletes(settings.kubernetes, succeeded=phase == "Succeeded")
        ):
            continue
        try:
            if not keep_log(api, namespace, pod, settings.logging.base_log_folder):
                continue
            delete_pod(api, namespace, name)
        except Exception as exc:
            log.warning("cannot clean up orphaned pod %s: %s", name, exc)
            continue
        log.info("cleaned up pod %s (%s), which no scheduler follows", name, phase)


def cleanup(
    settings: Settings,
    *,
    min_age: float,
    dry_run: bool,
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    """Delete tradewind's finished pods of ``settings``' namespace created more than
    ``min_age`` seconds ago (``tradewind kubernetes cleanup-pods``), each pod's log kept first,
    unless kept already: a pod whose log cannot be written stays. ``say`` is told of each pod
    deleted (or, with ``dry_run``, that would be), ``warn`` of each pod that stays. Raises
    KubernetesApiError when the API cannot be used."""
    namespace = settings.kubernetes.namespace
    with api_errors(f"list the pods of namespace {namespace}"):
        api = make_api(settings.kubernetes)
        pods = finished_pods(api, namespace)
    cutoff = datetime.now(UTC) - timedelta(seconds=min_age)
    for pod in pods:
        name, phase = name_of(pod), pod["status"]["phase"]
        created = _time((pod.get("metadata") or {}).get("creationTimestamp"))
        if created is not None and created > cutoff:
            continue
        if dry_run:
            say(f"would delete {name} ({phase})")
            continue
        if not keep_log(api, namespace, pod, settings.logging.base_log_folder):
            warn(f"keeping {name}: its log cannot be written here")
            continue
        say(f"deleting {name} ({phase})")
        with api_errors(f"delete pod {name}"):
            delete_pod(api, namespace, name)
