"""Following a scheduler's pods: a thread that lists, then watches, and never gives up.

The watcher lists the pods of its label selector (getting a resourceVersion), hands them on as
one :class:`Listed` batch, then watches from that resourceVersion, handing on every event as a
:class:`PodEvent`. It keeps the last resourceVersion it saw, bookmarks included (it asks for
them): a dropped connection (or a watch that timed out) resumes from there; a 410 Gone (the
version is too old, as an HTTP answer or as an ERROR event) lists again, and the executor
reconciles every pod it knows against the list. Everything goes to ``sink`` (from the
watcher's thread); the executor drains it in ``poll``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

# The client's Watch, untyped.
Watch: Any = watch.Watch

GONE = 410
# How long one watch request lasts (the server ends it; the watcher starts the next one).
WATCH_TIMEOUT = 60
# After an error, this long before the next attempt.
RETRY_DELAY = 0.5


@dataclass(frozen=True)
class PodEvent:
    type: str  # ADDED, MODIFIED, DELETED
    pod: dict[str, Any]


@dataclass(frozen=True)
class Listed:
    """Every pod of the selector, as of ``started`` (time.monotonic() before the request)."""

    pods: list[dict[str, Any]]
    started: float
    names: frozenset[str] = field(default=frozenset())


Sink = Callable[[PodEvent | Listed], None]


def resource_version(obj: dict[str, Any]) -> str | None:
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return str(version) if version else None


class PodWatcher:
    """Lists and watches the pods of ``label_selector`` in ``namespace`` in a daemon thread."""

    def __init__(
        self,
        api: Any,
        namespace: str,
        label_selector: str,
        sink: Sink,
        *,
        watch_timeout: int = WATCH_TIMEOUT,
        retry_delay: float = RETRY_DELAY,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.label_selector = label_selector
        self.sink = sink
        self.watch_timeout = watch_timeout
        self.retry_delay = retry_delay
        self.resource_version: str | None = None
        self.relists = 0
        self._stop = threading.Event()
        self._watch: Any = None
        self._thread = threading.Thread(target=self._run, name="tradewind-k8s-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: float = 2.0) -> None:
        self._stop.set()
        current = self._watch
        if current is not None:
            current.stop()
        if self._thread.is_alive():
            self._thread.join(wait)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self.resource_version = self._list()
                self._follow()
            except ApiException as exc:
                if exc.status == GONE:
                    log.info("pod watch: resourceVersion too old (410), listing again")
                    self.resource_version = None
                    continue
                log.warning("pod watch failed (retrying): %s %s", exc.status, exc.reason)
                self._stop.wait(self.retry_delay)
            except Exception as exc:  # a dropped connection: resume from the last version
                if self._stop.is_set():
                    break
                log.info("pod watch interrupted (resuming): %s", exc)
                self._stop.wait(self.retry_delay)

    def _list(self) -> str | None:
        started = time.monotonic()
        response = self.api.list_namespaced_pod(
            self.namespace, label_selector=self.label_selector, _preload_content=False
        )
        data = json.loads(response.data)
        pods = list(data.get("items") or [])
        names = frozenset((p.get("metadata") or {}).get("name", "") for p in pods)
        self.relists += 1
        self.sink(Listed(pods, started, names))
        return resource_version(data)

    def _follow(self) -> None:
        current = Watch()
        self._watch = current
        try:
            stream = current.stream(
                self.api.list_namespaced_pod,
                self.namespace,
                label_selector=self.label_selector,
                resource_version=self.resource_version,
                timeout_seconds=self.watch_timeout,
                # The server's bookmarks keep our resourceVersion recent while none of our pods
                # change, so a resumed watch seldom finds it too old (410: a list again).
                allow_watch_bookmarks=True,
            )
            for event in stream:
                if self._stop.is_set():
                    break
                raw = event.get("raw_object") or {}
                kind = event.get("type")
                if kind == "ERROR":
                    if raw.get("code") == GONE:
                        raise _api_error(GONE, "Gone")
                    raise _api_error(raw.get("code"), raw.get("message"))
                self.resource_version = resource_version(raw) or self.resource_version
                if kind in ("ADDED", "MODIFIED", "DELETED"):  # not BOOKMARK: a version only
                    self.sink(PodEvent(kind, raw))
        finally:
            self._watch = None


def _api_error(status: Any, reason: Any) -> Exception:
    error: Exception = _ApiException(status=status, reason=reason)
    return error


_ApiException: Any = ApiException
