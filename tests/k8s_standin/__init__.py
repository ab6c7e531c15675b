"""A small stand-in for the Kubernetes API server, for tests of the kubernetes executor.

:class:`Standin` serves ``/api/v1/namespaces/{ns}/pods`` (create, get, list, watch, patch,
delete, log) and ``/api/v1/namespaces/{ns}/secrets`` (create, get, list, delete) well enough for the
official ``kubernetes`` client on 127.0.0.1, and runs each pod as a local process: the first
container's command + args with its env (secrets resolved from envFrom/secretKeyRef). See
server.py for the API and kubelet.py for how a pod's status moves, and the outcome knobs.
"""

from k8s_standin.kubelet import NODE_NAME, OUTCOME_ANNOTATION
from k8s_standin.server import Standin

__all__ = ["NODE_NAME", "OUTCOME_ANNOTATION", "Standin"]
