"""The Kubernetes API client of the executor and the CLI, configured from settings only."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException

from tradewind.settings import KubernetesSettings

config: Any = _config


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
