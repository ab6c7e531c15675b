"""The stand-in's HTTP API (stdlib ThreadingHTTPServer on 127.0.0.1) and :class:`Standin`.

Served, as the Kubernetes API serves them (JSON; errors are ``Status`` objects with ``code``):

- ``POST /api/v1/namespaces/{ns}/pods`` (201; 409 AlreadyExists; 422 without containers)
- ``GET /api/v1/namespaces/{ns}/pods`` and ``GET /api/v1/pods``: a PodList with
  ``metadata.resourceVersion``; ``labelSelector`` (k=v, k==v, k!=v, k, !k, comma-separated)
- the same with ``watch=true``: chunked JSON lines {"type", "object"}; without resourceVersion
  (or "0") an ADDED per existing pod first; from resourceVersion R every later change; a pod that
  starts or stops matching the selector is ADDED or DELETED; ``timeoutSeconds`` ends it cleanly;
  R older than the last :meth:`Standin.expire_watches` gets an ERROR event with a 410 Status
  (as the real API answers), or an HTTP 410 when asked for; with ``allowWatchBookmarks=true``,
  a BOOKMARK event (an object with only ``metadata.resourceVersion``, the current one) whenever
  :meth:`Standin.bookmark` asks (a real API server sends one about every minute)
- ``GET/PATCH/DELETE /api/v1/namespaces/{ns}/pods/{name}`` (PATCH: a merge of a JSON object,
  strategic or not; DELETE removes the pod at once and kills its process)
- ``GET /api/v1/namespaces/{ns}/pods/{name}/log``: ``tailLines`` (the last N lines), then
  ``limitBytes`` (at most the first N bytes of those; 422 below 1), ``follow`` (both apply to it:
  it starts at the tail and ends after the limit); 400 while the container has not started
  ("... is waiting to start: REASON")
- ``POST /api/v1/namespaces/{ns}/secrets`` (201; 409 AlreadyExists; 422 without a name or with a
  key outside ``[-._a-zA-Z0-9]+``; 400 for ``data`` values that are not base64): ``stringData``
  (plain values) is merged into ``data`` as base64, overriding its keys, and dropped; ``type``
  defaults to "Opaque"
- ``GET /api/v1/namespaces/{ns}/secrets`` and ``GET /api/v1/secrets``: a SecretList
  (``labelSelector`` as for pods; no watch)
- ``GET/DELETE /api/v1/namespaces/{ns}/secrets/{name}`` (DELETE answers a Success ``Status``, as
  the real API does for kinds without graceful deletion)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from k8s_standin.kubelet import Kubelet
from k8s_standin.store import Conflict, Event, Pod, Secret, Store, WatchHandle

NAMESPACE = "tradewind-test"
PATH = re.compile(
    r"^/api/v1(?:/namespaces/(?P<namespace>[^/]+))?/(?P<resource>pods|secrets)"
    r"(?:/(?P<name>[^/]+)(?P<log>/log)?)?$"
)
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


class Invalid(Exception):
    """A request the API refuses: code (400 or 422), reason, message."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


@dataclass
class Route:
    resource: str  # "pods" or "secrets"
    namespace: str | None
    name: str | None
    log: bool
    query: dict[str, str]


def status(code: int, reason: str, message: str) -> Pod:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def selector_matcher(selector: str) -> Callable[[Pod], bool]:
    """Equality and existence terms of a label selector, all of which must hold."""
    tests: list[Callable[[dict[str, str]], bool]] = []
    for term in filter(None, (part.strip() for part in selector.split(","))):
        if "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            key = term[1:].strip()
            tests.append(lambda labels, k=key: k not in labels)
        else:
            tests.append(lambda labels, k=term: k in labels)
    return lambda pod: all(test(pod["metadata"].get("labels") or {}) for test in tests)


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value


def secret_from_body(body: Any) -> Secret:
    """A secret as the API stores it: ``stringData`` merged into ``data`` (as base64) and
    dropped, ``type`` "Opaque" unless given. Invalid when the real API would refuse it."""
    if not isinstance(body, dict):
        raise Invalid(400, "BadRequest", "the body of a Secret must be a JSON object")
    name = (body.get("metadata") or {}).get("name") or ""
    if not (name or (body.get("metadata") or {}).get("generateName")):
        raise Invalid(
            422,
            "Invalid",
            f'Secret "{name}" is invalid: metadata.name: Required value: '
            "name or generateName is required",
        )
    data = dict(body.get("data") or {})
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            message = 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data'
            raise Invalid(400, "BadRequest", f"{message} in data[{key}]") from None
    for key, value in (body.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    for key in data:
        if not SECRET_KEY.match(key):
            raise Invalid(
                422,
                "Invalid",
                f'Secret "{name}" is invalid: data[{key}]: Invalid value: "{key}": a valid config '
                "key must consist of alphanumeric characters, '-', '_' or '.'",
            )
    body["data"] = data
    body.setdefault("type", "Opaque")
    return body


def log_option(query: dict[str, str], key: str, least: int) -> int | None:
    """An integer option of the log endpoint; Invalid when not a number or below ``least``."""
    if key not in query:
        return None
    try:
        value = int(query[key])
    except ValueError:
        raise Invalid(400, "BadRequest", f"{key}: invalid integer {query[key]!r}") from None
    if value < least:
        relation = "greater than 0" if least == 1 else f"greater than or equal to {least}"
        raise Invalid(
            422,
            "Invalid",
            f"PodLogOptions is invalid: {key}: Invalid value: {value}: must be {relation}",
        )
    return value


def tail(text: bytes, lines: int | None) -> bytes:
    """The last ``lines`` lines of ``text`` (all of it for None)."""
    if lines is None:
        return text
    kept = text.splitlines(keepends=True)
    return b"".join(kept[max(0, len(kept) - lines) :])


def watch_type(event: Event, match: Callable[[Pod], bool]) -> str | None:
    """The event a watch with this selector sees for ``event``, if any."""
    now = match(event.obj)
    before = event.prev is not None and match(event.prev)
    if event.type == "DELETED":
        return "DELETED" if before else None
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------

    def send_json(self, code: int, body: Pod) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_status(self, code: int, reason: str, message: str) -> None:
        self.send_json(code, status(code, reason, message))

    def start_chunks(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def route(self) -> Route | None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        found = PATH.match(url.path)
        if found is None or (found["name"] and not found["namespace"]):
            return None
        if found["log"] and found["resource"] != "pods":
            return None
        return Route(
            found["resource"], found["namespace"], found["name"], bool(found["log"]), query
        )

    def dispatch(self, method: str) -> None:
        if method == "DELETE":
            self.read_body()  # DeleteOptions, if sent: read, so the connection stays usable
        route = self.route()
        if route is None:
            self.send_status(404, "NotFound", f"the server could not find {self.path}")
            return
        try:
            if route.resource == "secrets":
                self.secrets(method, route)
            else:
                self.pods(method, route)
        except Invalid as error:
            self.send_status(error.code, error.reason, error.message)

    def pods(self, method: str, route: Route) -> None:
        namespace, name, log, query = route.namespace, route.name, route.log, route.query
        standin = self.server.standin
        store = standin.store
        if name is None:
            if method == "GET" and query.get("watch") in ("true", "1"):
                self.watch(namespace, query)
            elif method == "GET":
                items, rv = store.list(namespace, selector_matcher(query.get("labelSelector", "")))
                body = {"kind": "PodList", "apiVersion": "v1", "items": items}
                self.send_json(200, {**body, "metadata": {"resourceVersion": str(rv)}})
            elif method == "POST" and namespace is not None:
                self.create(namespace)
            else:
                self.send_status(405, "MethodNotAllowed", f"{method} is not supported")
            return
        assert namespace is not None
        pod = store.get(namespace, name)
        if pod is None:
            self.send_status(404, "NotFound", f'pods "{name}" not found')
        elif log and method == "GET":
            self.log(namespace, pod, query)
        elif method == "GET":
            self.send_json(200, pod)
        elif method == "DELETE":
            deleted = standin.delete_pod(name, namespace)
            if deleted is None:
                self.send_status(404, "NotFound", f'pods "{name}" not found')
            else:
                self.send_json(200, deleted)
        elif method == "PATCH":
            patch = self.read_body()
            if not isinstance(patch, dict):
                self.send_status(415, "UnsupportedMediaType", "only merge patches are supported")
                return
            patched = store.update(namespace, name, lambda pod: merge(pod, patch))
            if patched is None:
                self.send_status(404, "NotFound", f'pods "{name}" not found')
            else:
                self.send_json(200, patched)
        else:
            self.send_status(405, "MethodNotAllowed", f"{method} is not supported")

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    # -- endpoints -------------------------------------------------------------------------

    def create(self, namespace: str) -> None:
        pod = self.read_body()
        meta = pod.get("metadata") or {}
        if not (meta.get("name") or meta.get("generateName")) or not pod.get("spec", {}).get(
            "containers"
        ):
            self.send_status(422, "Invalid", "a pod needs a name and at least one container")
            return
        try:
            created = self.server.standin.store.create(namespace, pod)
        except Conflict:
            self.send_status(409, "AlreadyExists", f'pods "{meta["name"]}" already exists')
            return
        self.server.standin.kubelet.start(namespace, created["metadata"]["name"])
        self.send_json(201, created)

    def log(self, namespace: str, pod: Pod, query: dict[str, str]) -> None:
        kubelet = self.server.standin.kubelet
        name = pod["metadata"]["name"]
        tail_lines = log_option(query, "tailLines", 0)
        limit = log_option(query, "limitBytes", 1)
        text = kubelet.log(namespace, name)
        if text is None:
            container = pod["spec"]["containers"][0]["name"]
            message = f'container "{container}" in pod "{name}" is waiting to start'
            statuses = pod["status"].get("containerStatuses") or [{}]
            reason = statuses[0].get("state", {}).get("waiting", {}).get("reason")
            self.send_status(400, "BadRequest", f"{message}: {reason}" if reason else message)
            return
        if query.get("follow") not in ("true", "1"):
            text = tail(text, tail_lines)[:limit]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return
        self.start_chunks("text/plain")
        start = sent = len(text) - len(tail(text, tail_lines))
        while True:
            running = kubelet.running(namespace, name)
            text = kubelet.log(namespace, name) or b""
            end = len(text) if limit is None else min(len(text), start + limit)
            self.chunk(text[sent:end])
            sent = end
            if not running or (limit is not None and sent - start >= limit):
                break
            time.sleep(0.05)
        self.end_chunks()

    def secrets(self, method: str, route: Route) -> None:
        store = self.server.standin.store
        namespace, name = route.namespace, route.name
        if name is None:
            if method == "GET" and route.query.get("watch") not in ("true", "1"):
                match = selector_matcher(route.query.get("labelSelector", ""))
                items, rv = store.list_secrets(namespace, match)
                body = {"kind": "SecretList", "apiVersion": "v1", "items": items}
                self.send_json(200, {**body, "metadata": {"resourceVersion": str(rv)}})
            elif method == "POST" and namespace is not None:
                secret = secret_from_body(self.read_body())
                try:
                    self.send_json(201, store.create_secret(namespace, secret))
                except Conflict:
                    message = f'secrets "{secret["metadata"]["name"]}" already exists'
                    self.send_status(409, "AlreadyExists", message)
            else:
                self.send_status(405, "MethodNotAllowed", f"{method} is not supported")
            return
        assert namespace is not None
        if method == "GET":
            found = store.get_secret(namespace, name)
        elif method == "DELETE":
            found = store.delete_secret(namespace, name)
        else:
            self.send_status(405, "MethodNotAllowed", f"{method} is not supported")
            return
        if found is None:
            self.send_status(404, "NotFound", f'secrets "{name}" not found')
        elif method == "GET":
            self.send_json(200, found)
        else:
            details = {"name": name, "kind": "secrets", "uid": found["metadata"]["uid"]}
            body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            self.send_json(200, {**body, "details": details})

    def watch(self, namespace: str | None, query: dict[str, str]) -> None:
        store = self.server.standin.store
        match = selector_matcher(query.get("labelSelector", ""))
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 3600)
        since = int(query.get("resourceVersion") or 0)
        handle = WatchHandle(bookmarks=query.get("allowWatchBookmarks") == "true")
        lines: list[Pod] = []
        with store.cond:
            if since and since < store.floor:
                if self.server.standin.gone_as_http:
                    self.send_status(410, "Expired", f"too old resource version: {since}")
                    return
                handle.end = "expire"
            elif not since:
                items, since = store.list(namespace, match)
                lines = [{"type": "ADDED", "object": pod} for pod in items]
            handle.cursor = since if handle.end is None else store.rv
            store.watches.add(handle)
            store.cond.notify_all()
        try:
            self.start_chunks("application/json")
            while True:
                for line in lines:
                    self.chunk(json.dumps(line).encode() + b"\n")
                lines = []
                with store.cond:
                    store.cond.wait_for(
                        lambda: (
                            handle.end is not None
                            or store.rv > handle.cursor
                            or handle.bookmark_due
                        ),
                        timeout=max(0.0, deadline - time.monotonic()),
                    )
                    for event in store.events_after(handle.cursor):
                        type_ = watch_type(event, match)
                        if type_ and namespace in (None, event.namespace):
                            lines.append({"type": type_, "object": event.obj})
                    handle.cursor = store.rv
                    if handle.bookmark_due:
                        handle.bookmark_due = False
                        version = {"resourceVersion": str(store.rv)}
                        mark = {"kind": "Pod", "apiVersion": "v1", "metadata": version}
                        lines.append({"type": "BOOKMARK", "object": mark})
                    end = handle.end
                if end is None and time.monotonic() < deadline:
                    continue
                for line in lines:
                    self.chunk(json.dumps(line).encode() + b"\n")
                if end == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if end == "expire":
                    gone = status(410, "Expired", f"too old resource version: {since}")
                    self.chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                self.end_chunks()
                return
        except OSError:
            self.close_connection = True  # the client went away
        finally:
            with store.cond:
                store.watches.discard(handle)


class StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    standin: Standin


class Standin:
    """The stand-in server with its test knobs; :meth:`start` it, :meth:`stop` it."""

    def __init__(self, namespace: str = NAMESPACE, workdir: Path | None = None) -> None:
        self.namespace = namespace
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="k8s-standin-"))
        self._own_workdir = workdir is None
        self.store = Store()
        self.kubelet = Kubelet(self.store, self.workdir)
        self.gone_as_http = False
        self.httpd = StandinHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.standin = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.kubeconfig = self.workdir / "kubeconfig"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> Standin:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "standin", "user": {}}],
            "contexts": [
                {
                    "name": "standin",
                    "context": {
                        "cluster": "standin",
                        "user": "standin",
                        "namespace": self.namespace,
                    },
                }
            ],
            "current-context": "standin",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2))  # JSON is YAML
        self._thread.start()
        return self

    def stop(self) -> None:
        self.store.end_watches("stop")
        self.httpd.shutdown()
        self.httpd.server_close()
        self.kubelet.shutdown()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- knobs -----------------------------------------------------------------------------

    def pods(self, namespace: str | None = None) -> list[Pod]:
        """Every pod of the namespace (the stand-in's namespace by default), as stored."""
        return self.store.list(namespace or self.namespace, lambda pod: True)[0]

    def pod(self, name: str, namespace: str | None = None) -> Pod | None:
        return self.store.get(namespace or self.namespace, name)

    def created(self) -> list[str]:
        """Names of every pod created so far, in order (deleted ones too)."""
        return [name for _, name in self.store.created]

    def wait_for(
        self, name: str, check: Callable[[Pod | None], bool], timeout: float = 30.0
    ) -> Pod | None:
        """Wait until ``check(pod)`` (the pod, or None once deleted) holds; TimeoutError if not."""
        with self.store.cond:
            if self.store.cond.wait_for(lambda: check(self.pod(name)), timeout=timeout):
                return self.pod(name)
        raise TimeoutError(f"pod {name}: {self.pod(name)}")

    def wait_for_phase(self, name: str, phase: str, timeout: float = 30.0) -> Pod:
        pod = self.wait_for(name, lambda pod: pod is not None and pod["status"]["phase"] == phase)
        assert pod is not None
        return pod

    def open_watches(self) -> int:
        with self.store.cond:
            return sum(1 for handle in self.store.watches if handle.end is None)

    def wait_for_watches(self, count: int = 1, timeout: float = 30.0) -> None:
        with self.store.cond:
            ok = self.store.cond.wait_for(lambda: self.open_watches() >= count, timeout=timeout)
        if not ok:
            raise TimeoutError(f"{self.open_watches()} watches open, waited for {count}")

    def expire_watches(self, close_open: bool = True, http: bool = False) -> int:
        """Make every resourceVersion handed out so far too old: a watch from one gets 410 (an
        ERROR event in a 200 stream, or an HTTP 410 if ``http``). With ``close_open``, the open
        watches end with such an ERROR event. Returns how many were ended."""
        self.gone_as_http = http
        self.store.expire()
        return self.store.end_watches("expire") if close_open else 0

    def bookmark(self) -> int:
        """Send a BOOKMARK (the current resourceVersion) on every open watch that allows them.
        Returns how many."""
        return self.store.bookmark()

    def drop_watches(self) -> int:
        """Cut every open watch connection mid-stream (no final chunk). Returns how many."""
        return self.store.end_watches("drop")

    def end_watches(self) -> int:
        """End every open watch cleanly, as its timeoutSeconds would. Returns how many."""
        return self.store.end_watches("stop")

    def oom_kill(self, name: str, namespace: str | None = None) -> bool:
        """Kill a running pod's process as the OOM killer: exit 137, reason OOMKilled."""
        return self.kubelet.oom_kill(namespace or self.namespace, name)

    def evict(self, name: str, namespace: str | None = None) -> bool:
        """Evict a pod: its process killed, phase Failed, status.reason Evicted."""
        return self.kubelet.evict(namespace or self.namespace, name)

    def create_secret(
        self, name: str, values: Mapping[str, str], namespace: str | None = None
    ) -> Secret:
        """Create an Opaque secret of plain ``values`` (stored base64, as stringData is)."""
        body = {"metadata": {"name": name}, "stringData": dict(values)}
        return self.store.create_secret(namespace or self.namespace, secret_from_body(body))

    def secret(self, name: str, namespace: str | None = None) -> Secret | None:
        """The stored secret (``data`` in base64), or None."""
        return self.store.get_secret(namespace or self.namespace, name)

    def delete_pod(self, name: str, namespace: str | None = None) -> Pod | None:
        """Delete a pod as someone else would (kubectl delete): DELETED, its process killed."""
        namespace = namespace or self.namespace
        deleted = self.store.delete(namespace, name)
        with contextlib.suppress(OSError):
            self.kubelet.kill(namespace, name)
        return deleted
