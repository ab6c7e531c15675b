"""The stand-in's object store: pods and secrets by namespace and name, resourceVersions, and the
event history that pod watches read from.

Every change bumps one global resourceVersion (an int, sent as a string), as etcd's revision is
shared by every kind; a pod change also appends an event (secrets have no watch, so no events:
:attr:`Store.secret_changes` counts their changes for the kubelet, which waits on them).
``floor`` is the oldest resourceVersion a new watch may start from: :meth:`Store.expire` raises it
past every version handed out so far, as an etcd compaction would.
"""

from __future__ import annotations

import bisect
import copy
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Pod = dict[str, Any]
Secret = dict[str, Any]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Conflict(Exception):
    pass


@dataclass
class Event:
    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    namespace: str
    obj: Pod
    prev: Pod | None  # the object before this change (None for ADDED)


@dataclass(eq=False)
class WatchHandle:
    """One open watch connection; a knob sets ``end`` to "drop", "expire" or "stop"."""

    end: str | None = None
    cursor: int = 0
    bookmarks: bool = False  # the client asked for BOOKMARK events (allowWatchBookmarks)
    bookmark_due: bool = False  # a knob asked for one to be sent now


class Store:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        # Not 0: a watch from "0" means "from any version" (every pod as ADDED first).
        self.rv = 1000
        self.floor = 0
        self.pods: dict[tuple[str, str], Pod] = {}
        self.events: list[Event] = []
        self.watches: set[WatchHandle] = set()
        # (namespace, name) of every pod created, in order: tests count creations with it.
        self.created: list[tuple[str, str]] = []
        self.secrets: dict[tuple[str, str], Secret] = {}
        self.secret_changes = 0

    def _record(self, type_: str, namespace: str, obj: Pod, prev: Pod | None) -> Pod:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append(Event(self.rv, type_, namespace, copy.deepcopy(obj), prev))
        self.cond.notify_all()
        return copy.deepcopy(obj)

    def create(self, namespace: str, pod: Pod) -> Pod:
        meta = pod.setdefault("metadata", {})
        with self.cond:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            key = (namespace, meta["name"])
            if key in self.pods:
                raise Conflict(meta["name"])
            meta.update(
                namespace=namespace,
                uid=str(uuid.uuid4()),
                creationTimestamp=now_iso(),
            )
            meta.setdefault("labels", {})
            meta.setdefault("annotations", {})
            pod.update(apiVersion="v1", kind="Pod")
            pod.setdefault("spec", {})
            pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
            self.pods[key] = pod
            self.created.append(key)
            return self._record("ADDED", namespace, pod, None)

    def get(self, namespace: str, name: str) -> Pod | None:
        with self.cond:
            pod = self.pods.get((namespace, name))
            return copy.deepcopy(pod) if pod is not None else None

    def list(self, namespace: str | None, match: Callable[[Pod], bool]) -> tuple[list[Pod], int]:
        with self.cond:
            items = [
                copy.deepcopy(pod)
                for (ns, _), pod in self.pods.items()
                if namespace in (None, ns) and match(pod)
            ]
            return items, self.rv

    def update(self, namespace: str, name: str, change: Callable[[Pod], None]) -> Pod | None:
        """Apply ``change`` to the stored pod (a MODIFIED event); None when the pod is gone."""
        with self.cond:
            pod = self.pods.get((namespace, name))
            if pod is None:
                return None
            prev = copy.deepcopy(pod)
            change(pod)
            return self._record("MODIFIED", namespace, pod, prev)

    def delete(self, namespace: str, name: str) -> Pod | None:
        with self.cond:
            pod = self.pods.pop((namespace, name), None)
            if pod is None:
                return None
            prev = copy.deepcopy(pod)
            pod["metadata"]["deletionTimestamp"] = now_iso()
            pod["metadata"]["deletionGracePeriodSeconds"] = 0
            return self._record("DELETED", namespace, pod, prev)

    # -- secrets -------------------------------------------------------------------------

    def _secret_changed(self, secret: Secret) -> Secret:
        self.rv += 1
        self.secret_changes += 1
        secret["metadata"]["resourceVersion"] = str(self.rv)
        self.cond.notify_all()
        return copy.deepcopy(secret)

    def create_secret(self, namespace: str, secret: Secret) -> Secret:
        """Store a secret whose ``data`` is already base64 (see server.secret_from_body)."""
        meta = secret.setdefault("metadata", {})
        with self.cond:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            key = (namespace, meta["name"])
            if key in self.secrets:
                raise Conflict(meta["name"])
            meta.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now_iso())
            secret.update(apiVersion="v1", kind="Secret")
            self.secrets[key] = secret
            return self._secret_changed(secret)

    def get_secret(self, namespace: str, name: str) -> Secret | None:
        with self.cond:
            secret = self.secrets.get((namespace, name))
            return copy.deepcopy(secret) if secret is not None else None

    def list_secrets(
        self, namespace: str | None, match: Callable[[Secret], bool]
    ) -> tuple[list[Secret], int]:
        with self.cond:
            items = [
                copy.deepcopy(secret)
                for (ns, _), secret in self.secrets.items()
                if namespace in (None, ns) and match(secret)
            ]
            return items, self.rv

    def delete_secret(self, namespace: str, name: str) -> Secret | None:
        with self.cond:
            secret = self.secrets.pop((namespace, name), None)
            return None if secret is None else self._secret_changed(secret)

    # -- watches ---------------------------------------------------------------------------

    def events_after(self, rv: int) -> list[Event]:
        """Events newer than ``rv`` (call with ``cond`` held)."""
        start = bisect.bisect_right(self.events, rv, key=lambda event: event.rv)
        return self.events[start:]

    def expire(self) -> None:
        """Forget every resourceVersion handed out so far: a watch from any of them gets 410."""
        with self.cond:
            self.rv += 1
            self.floor = self.rv

    def bookmark(self) -> int:
        """Have every open watch that allows bookmarks send one now. Returns how many."""
        with self.cond:
            allowing = [h for h in self.watches if h.bookmarks and h.end is None]
            for handle in allowing:
                handle.bookmark_due = True
            self.cond.notify_all()
            return len(allowing)

    def end_watches(self, how: str) -> int:
        with self.cond:
            open_watches = [handle for handle in self.watches if handle.end is None]
            for handle in open_watches:
                handle.end = how
            self.cond.notify_all()
            return len(open_watches)
