"""A small stand-in for the Kubernetes API server, for tests of the kubernetes executor.

:class:`Standin` serves ``/api/v1/namespaces/{ns}/pods`` well enough for the official
``kubernetes`` client (create, get, list, watch, patch, delete, log) on 127.0.0.1, and runs each
pod as a local process: the first container's command + args with its env. See server.py for the
API and kubelet.py for how a pod's status moves, and the outcome knobs.
"""

from k8s_standin.kubelet import NODE_NAME, OUTCOME_ANNOTATION
from k8s_standin.server import Standin

__all__ = ["NODE_NAME", "OUTCOME_ANNOTATION", "Standin"]
