"""What a pod that ended without the try's own report says about it: its status."""

from __future__ import annotations

from typing import Any

from tradewind.executors.kubernetes.podspec import BASE_CONTAINER

# Waiting reasons of a container that will never start.
IMAGE_FAILURES = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})


def _base_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == BASE_CONTAINER:
            return dict(status)
    return dict(statuses[0]) if statuses else {}


def base_ended(pod: dict[str, Any]) -> bool:
    """Whether the try's container has ended while the pod runs on (a sidecar keeps it up)."""
    return bool((_base_status(pod).get("state") or {}).get("terminated"))


def _waiting(pod: dict[str, Any]) -> tuple[str | None, str]:
    """Why the try's container waits (its reason), and that said with its message."""
    waiting = (_base_status(pod).get("state") or {}).get("waiting") or {}
    reason, message = waiting.get("reason"), waiting.get("message")
    return reason, f"{reason}: {message}" if message else str(reason)


def waiting_failure(pod: dict[str, Any]) -> str | None:
    """Why a pending pod will never run (its image cannot be pulled), or None."""
    reason, said = _waiting(pod)
    return said if reason in IMAGE_FAILURES else None


# Waiting reasons of a container on its way to start.
_STARTING = frozenset({"ContainerCreating", "PodInitializing"})


def pending_reason(pod: dict[str, Any]) -> str:
    """What holds a pending pod back (no node fits, a missing Secret, ...), or ""."""
    reason, said = _waiting(pod)
    if reason and reason not in _STARTING:
        return said
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            why = condition.get("reason") or "not scheduled"
            return f"{why}: {condition['message']}" if condition.get("message") else str(why)
    return ""


def pod_failure(pod: dict[str, Any]) -> str:
    """Why a pod that ended without a report failed."""
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted":
        return f"evicted: {status.get('message') or ''}".rstrip(": ")
    terminated = (_base_status(pod).get("state") or {}).get("terminated") or {}
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled"
    if status.get("phase") == "Succeeded" or terminated.get("exitCode") == 0:
        return "no report"
    if "exitCode" in terminated:
        return f"exit code {terminated['exitCode']}"
    reason = status.get("reason") or terminated.get("reason")
    return f"the pod failed: {reason}" if reason else "the pod failed"


def container_started(pod: dict[str, Any]) -> bool:
    """Whether a container of the pod ever ran (a pod evicted or never pulled did not)."""
    if (pod.get("status") or {}).get("phase") == "Succeeded":
        return True
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        state = status.get("state") or {}
        if state.get("running") or (state.get("terminated") or {}).get("startedAt"):
            return True
        if (status.get("lastState") or {}).get("terminated"):
            return True
    return False
