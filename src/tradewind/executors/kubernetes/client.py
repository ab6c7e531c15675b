"""The Kubernetes API client of the executor and the CLI, configured from settings only, and
what they share in using it: a request's time limit, a refusal's message, deleting pods; and
a failed request as one error with a one-line message (:func:`api_errors`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes import client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from tradewind.exceptions import TradewindError
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


class KubernetesApiError(TradewindError):
    """The Kubernetes API cannot be used: no usable configuration, out of reach, or it refused
    a request. The message is one line."""


def one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextmanager
def api_errors(doing: str) -> Iterator[None]:
    """The client's errors (no usable kubeconfig, the API out of reach, a request refused)
    while ``doing`` something, as a KubernetesApiError."""
    try:
        yield
    except ConfigException as exc:
        raise KubernetesApiError(f"cannot configure the kubernetes client: {exc}") from None
    except ApiException as exc:
        detail = status_message(exc) or exc.reason
        message = f"the Kubernetes API refused to {doing}: {exc.status} {one_line(detail)}"
        raise KubernetesApiError(message) from None
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        message = f"cannot reach the Kubernetes API to {doing}: {one_line(reason)}"
        raise KubernetesApiError(message) from None


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
