"""The Kubernetes API client of the executor and the CLI, configured from settings only, and
what they share in using it: a request's time limit, a refusal's message, deleting pods."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException

from tradewind.settings import KubernetesSettings

config: Any = _config

# Seconds a request may take: an API that never answers is an error, not a hang.
REQUEST_TIMEOUT = 30


def make_api(settings: KubernetesSettings) -> Any:
    """A CoreV1Api: in-cluster (service account) or from a kubeconfig file and context."""
    configuration: Any = client.Configuration()
    if settings.in_cluster:
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(
            config_file=settings.config_file or None,
            context=settings.context or None,
            client_configuration=configuration,
        )
    return client.CoreV1Api(client.ApiClient(configuration))


def status_message(exc: ApiException) -> str | None:
    """The message of the Status the API answered a refused request with, if it has one."""
    try:
        message = json.loads(exc.body or "").get("message")
    except (TypeError, ValueError, AttributeError):
        return None
    return str(message) if message else None


def deletes(settings: KubernetesSettings, *, succeeded: bool) -> bool:
    """Whether a try's pod that ended goes, by ``delete_worker_pods`` and
    ``delete_worker_pods_on_failure``."""
    return settings.delete_worker_pods and (succeeded or settings.delete_worker_pods_on_failure)


def delete_pod(api: Any, namespace: str, name: str) -> None:
    """Delete pod ``name``; one that is gone already is as good."""
    try:
        api.delete_namespaced_pod(name, namespace, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status != 404:
            raise
