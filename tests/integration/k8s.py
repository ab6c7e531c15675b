"""Helpers for tests against the Kubernetes API stand-in (tests/k8s_standin).

- ``k8s`` (fixture): a started :class:`k8s_standin.Standin` on a free port of 127.0.0.1, stopped
  (its pods' processes killed) after the test. Its attributes and knobs:

  - ``kubeconfig`` (Path of a kubeconfig without auth, context "standin"), ``namespace``, ``url``;
  - ``pods()``, ``pod(name)``, ``created()`` (names in creation order), ``wait_for(name, check)``,
    ``wait_for_phase(name, phase)``, ``open_watches()``, ``wait_for_watches(count)``;
  - ``expire_watches(close_open=True, http=False)`` (410 for every resourceVersion so far),
    ``drop_watches()`` (connections cut mid-stream), ``end_watches()`` (clean end);
  - ``oom_kill(name)``, ``evict(name)``, ``delete_pod(name)`` (deleted by someone else);
  - ``create_secret(name, {key: plain value})`` (an Opaque secret, as stringData would make it),
    ``secret(name)`` (as stored: ``data`` in base64, or None); the client's
    create/read/list/delete_namespaced_secret work too;
  - outcomes by the first container's image or the annotation ``OUTCOME_ANNOTATION``:
    "bad-image", "pending", "oom", "evict", "delete" (see k8s_standin/kubelet.py).

  A pod's first container gets its ``envFrom`` secretRefs and ``secretKeyRef`` env vars when it
  starts; a missing secret or key that is not optional keeps it Pending, waiting with reason
  CreateContainerConfigError (message ``secret "NAME" not found``) until the secret is created.
  The pod log takes ``tailLines``, ``limitBytes`` and ``follow``.

- :func:`core_api`: a ``CoreV1Api`` of the official client configured from the kubeconfig.

Test modules import the fixture::

    from k8s import k8s_fixture  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_standin import Standin

kubernetes = pytest.importorskip("kubernetes")


def core_api(kubeconfig: Path) -> kubernetes.client.CoreV1Api:  # type: ignore[name-defined]
    api_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    return kubernetes.client.CoreV1Api(api_client)


@pytest.fixture(name="k8s")
def k8s_fixture(tmp_path: Path) -> Iterator[Standin]:
    workdir = tmp_path / "k8s-standin"
    workdir.mkdir()
    standin = Standin(workdir=workdir).start()
    try:
        yield standin
    finally:
        standin.stop()
