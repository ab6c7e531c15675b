"""Throwaway broker servers for tests that stop or restart a broker: each such test starts its
own Redis or RabbitMQ on free ports in a temporary folder and never touches the shared brokers
that other tests (on the other pytest worker too) use at the same moment.

- :class:`ThrowawayRedis`: ``redis-server`` in the foreground, without persistence (a restart
  loses every message, as the harshest broker outage would).
- :class:`ThrowawayRabbitMQ`: a RabbitMQ node of its own name, ports, data and log folders,
  run with ``rabbitmq-server -detached`` and stopped with ``rabbitmqctl stop``. Its durable
  queues survive a restart. (``rabbitmqctl stop_app``/``start_app`` is not used: on this
  machine's RabbitMQ the listener fails to come back with ``eaddrinuse``.)

Both offer ``start()``, ``stop()``, ``restart()``, ``close()`` and ``url``;
:func:`throwaway_broker` is a context manager starting one and closing it on the way out.
A server that cannot be started skips the test locally and fails it under CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from webtest import free_port

IN_CI = os.environ.get("CI") == "true"
START_TIMEOUT = 60.0


class Broker(Protocol):
    kind: str
    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


def _missing(what: str) -> None:
    message = f"cannot start a throwaway broker: {what}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


class ThrowawayRedis:
    kind = "redis"

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            _missing("redis-server is not installed")
        self.dir = Path(tempfile.mkdtemp(prefix="tw-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        with (self.dir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not _wait(lambda: _answers(self.port), START_TIMEOUT):
            raise RuntimeError(f"redis-server did not open port {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # redis-server exits at once on SIGTERM without --save
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRabbitMQ:
    kind = "rabbitmq"

    def __init__(self) -> None:
        self.server = shutil.which("rabbitmq-server")
        self.ctl = shutil.which("rabbitmqctl")
        if self.server is None or self.ctl is None:
            _missing("rabbitmq-server or rabbitmqctl is not installed")
        self.dir = Path(tempfile.mkdtemp(prefix="tw-rabbitmq-"))
        self.dir.chmod(0o755)
        (self.dir / "enabled_plugins").write_text("[].\n")
        # No listener from the machine's own rabbitmq.conf: the port comes from the env.
        (self.dir / "rabbitmq.conf").write_text("# a throwaway node: its port is in the env\n")
        if os.geteuid() == 0:  # the server runs as its own user
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.node = f"tw{uuid.uuid4().hex[:10]}@localhost"
        self.port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "node.pid"),
        }
        self.started = False

    def _ctl(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess[str]:
        command = [str(self.ctl), "-n", self.node, *args]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _log_tail(self) -> str:
        logs = sorted((self.dir / "log").glob("*.log"))
        text = "".join(p.read_text(errors="replace") for p in logs)
        return "\n".join(text.splitlines()[-20:])

    def start(self) -> None:
        done = subprocess.run(
            [str(self.server), "-detached"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            _missing(f"rabbitmq-server -detached failed: {done.stderr or done.stdout}")
        self.started = True
        if not _wait(lambda: _answers(self.port), START_TIMEOUT):
            raise RuntimeError(
                f"RabbitMQ node {self.node} did not open its port:\n{self._log_tail()}"
            )
        ready = self._ctl("await_startup")
        if ready.returncode != 0:
            raise RuntimeError(f"RabbitMQ node {self.node} did not start: {ready.stderr}")

    def stop(self) -> None:
        if not self.started:
            return
        self._ctl("stop")  # returns once the node has halted
        if not _wait(lambda: not _answers(self.port), START_TIMEOUT):
            raise RuntimeError(f"RabbitMQ node {self.node} still listens after stop")
        self.started = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop()
        pid_file = self.dir / "node.pid"
        if self.started and pid_file.exists():  # it would not stop: kill it
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def throwaway_broker(kind: str) -> Iterator[Broker]:
    """A started broker server of ``kind`` ("redis" or "rabbitmq"), closed on the way out."""
    server: Broker = ThrowawayRedis() if kind == "redis" else ThrowawayRabbitMQ()
    try:
        server.start()
        yield server
    finally:
        server.close()
