"""Helpers for tests of the celery executor: brokers, settings and real worker processes.

- ``brokers`` (session fixture): :class:`Brokers`; ``brokers.require(kind)`` skips a test whose
  broker (``redis`` or ``rabbitmq``) does not answer, or fails it when CI is "true".
- :func:`celery_sections`: settings sections for a system on the celery executor, isolated from
  other tests: on Redis a database number of its own per pytest worker (flushed), on RabbitMQ
  queue and exchange names of its own per test.
- :func:`celery_workers`: a context manager running ``tradewind celery worker`` processes with
  given queues; on exit each is killed with its whole process tree.
- :func:`kill_worker_running`: SIGKILL the worker that runs a given try process.

Test modules import the fixture::

    from celerytest import brokers_fixture  # noqa: F401
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tradewind.settings import Settings, child_environ

BROKER_URLS = {
    "redis": "redis://127.0.0.1:6379",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
BROKER_KINDS = list(BROKER_URLS)

# Short enough that a test noticing a dead worker or an unserved queue ends in seconds.
FAST_WATCH: dict[str, Any] = {
    "heartbeat_interval": 0.5,
    "heartbeat_timeout": 5.0,
    "queued_timeout": 45.0,
    "resend_interval": 15.0,
    # Test workers share one host: none of them binds the worker log port (tests of the log
    # server pick a free port of their own).
    "worker_log_server_port": 0,
}
READY_LIMIT = 60.0
# Environment variable telling a try which test worker runs it.
WORKER_ENV = "TRADEWIND_TEST_WORKER"


def in_ci(config: pytest.Config) -> bool:
    """Whether a missing server fails tests (tests/conftest.py reads CI)."""
    return any(getattr(p, "IN_CI", False) for p in config.pluginmanager.get_plugins())


def xdist_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits or 0)


class Brokers:
    """The local brokers, each probed once."""

    def __init__(self, ci: bool) -> None:
        self.ci = ci
        self._problems: dict[str, str | None] = {}

    def require_celery(self) -> None:
        try:
            import celery  # noqa: F401
        except ModuleNotFoundError:
            self._miss("the celery extra is not installed: pip install 'tradewind[celery]'")

    def require(self, kind: str) -> None:
        self.require_celery()
        if kind not in self._problems:
            self._problems[kind] = _probe(BROKER_URLS[kind])
        problem = self._problems[kind]
        if problem is not None:
            self._miss(problem)

    def _miss(self, problem: str) -> None:
        if self.ci:
            pytest.fail(problem)
        pytest.skip(problem)

    def redis_db(self) -> int:
        """This pytest worker's Redis database (1..15); other test sessions may share it, so
        every key of a test carries its prefix (see :func:`isolate`)."""
        return 1 + xdist_index() % 15


def _probe(url: str) -> str | None:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=3):
            return None
    except OSError as exc:
        return f"broker at {parsed.hostname}:{parsed.port} is not reachable: {exc}"


@pytest.fixture(name="brokers", scope="session")
def brokers_fixture(pytestconfig: pytest.Config) -> Brokers:
    return Brokers(in_ci(pytestconfig))


@dataclass
class Isolation:
    """Names and URLs of one test on one broker."""

    kind: str
    broker_url: str
    result_backend: str
    prefix: str
    options: dict[str, Any] = field(default_factory=dict)

    def queue(self, name: str) -> str:
        """A queue name of this test (RabbitMQ queues are shared by every test)."""
        return f"{self.prefix}_{name}"


def isolate(brokers: Brokers, kind: str, server_url: str | None = None) -> Isolation:
    """Broker, result backend and names for one test: on the shared broker of ``kind`` (it is
    required), or on the server at ``server_url`` (a throwaway one, see brokerservers.py)."""
    if server_url is None:
        brokers.require(kind)
    else:
        brokers.require_celery()
    prefix = f"tw{uuid.uuid4().hex[:8]}"
    # Broadcasts (cancel, shutdown) reach only this test's workers.
    options: dict[str, Any] = {
        "control_exchange": f"{prefix}_control",
        "event_exchange": f"{prefix}_events",
    }
    if kind == "redis":
        url = f"{server_url or BROKER_URLS['redis']}/{brokers.redis_db()}"
        # Every key of this test (queues, unacked messages, results) under its own prefix:
        # task ids are the same in every test that runs the same try.
        keys = {"global_keyprefix": f"{prefix}:"}
        options["broker_transport_options"] = keys
        options["result_backend_transport_options"] = keys
        return Isolation(kind, url, url, prefix, options)
    # The metastore's database is the result backend (Celery's database backend).
    return Isolation(kind, server_url or BROKER_URLS["rabbitmq"], "", prefix, options)


def celery_sections(iso: Isolation, **celery: Any) -> dict[str, Any]:
    """The ``celery`` section for a test isolated by ``iso`` (``celery`` keys win)."""
    return {
        "broker_url": iso.broker_url,
        "result_backend": iso.result_backend,
        "default_queue": iso.queue("default"),
        "worker_concurrency": 8,
        "options": dict(iso.options),
        **FAST_WATCH,
        **celery,
    }


@dataclass
class Worker:
    name: str
    queues: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-30:])


@dataclass
class WorkerSpec:
    name: str
    queues: Sequence[str] = ()
    concurrency: int = 8
    # Whether the worker is started with ``-n <name>@%h``; without it, it takes its default
    # node name (``name`` then only names its log file and its environment's test marker).
    named: bool = True


def start_worker(settings: Settings, spec: WorkerSpec) -> Worker:
    queues = ",".join(spec.queues) or settings.celery.default_queue
    log = settings.home / f"worker-{spec.name}.log"
    command = [sys.executable, "-m", "tradewind", "celery", "worker"]
    command += ["-q", queues, "-c", str(spec.concurrency)]
    if spec.named:
        command += ["-n", f"{spec.name}@%h"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**child_environ(settings), WORKER_ENV: spec.name},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(spec.name, queues, process, log)


def wait_ready(worker: Worker) -> None:
    """Until the worker said it is ready (it consumes its queues); fails if it died."""
    limit = time.monotonic() + READY_LIMIT
    while time.monotonic() < limit:
        if worker.process.poll() is not None:
            pytest.fail(
                f"worker {worker.name} exited {worker.process.returncode}:\n{worker.tail()}"
            )
        if worker.log.exists() and " ready." in worker.log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    pytest.fail(f"worker {worker.name} never became ready:\n{worker.tail()}")


def kill_tree(pid: int) -> None:
    """SIGKILL a process, its group and every process under it (tries run in groups of
    their own)."""
    import psutil

    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for proc in tree:
        for kill in (lambda p=proc: os.killpg(p.pid, signal.SIGKILL), proc.kill):
            with suppress(ProcessLookupError, PermissionError, psutil.NoSuchProcess):
                kill()
    psutil.wait_procs(tree, timeout=10)


@contextmanager
def celery_workers(settings: Settings, *specs: WorkerSpec) -> Iterator[list[Worker]]:
    """Real ``tradewind celery worker`` processes, ready; killed with their trees on exit."""
    workers: list[Worker] = []
    try:
        for spec in specs:
            workers.append(start_worker(settings, spec))
        for worker in workers:
            wait_ready(worker)
        yield workers
    finally:
        for worker in workers:
            kill_tree(worker.process.pid)
            worker.process.wait()


def kill_worker_running(workers: Sequence[Worker], pid: int) -> None:
    """SIGKILL the worker (its own process only) under which process ``pid`` runs, and reap it."""
    import psutil

    def runs(worker: Worker) -> bool:
        try:
            children = psutil.Process(worker.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return False
        return pid in {c.pid for c in children}

    victim = next(w for w in workers if runs(w))
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
