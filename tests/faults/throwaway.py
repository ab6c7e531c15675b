"""Throwaway database servers for fault tests: each test that stops, kills or restarts a
database starts its own, on a free port in a temporary folder, and never touches the shared
servers other tests use.

- :class:`ThrowawayPostgres`: ``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin``, run as
  the ``postgres`` user when the tests run as root.
- :class:`ThrowawayMariaDB`: ``mariadb-install-db`` + ``mariadbd``, run as the ``mysql`` user.

Both offer ``start()``, ``stop(crash=False)`` (``crash=True``: the server is killed, as a power
cut or an OOM kill would), ``restart(down_for=...)`` and ``url`` (the database ``tradewind``,
created at the first start). A missing binary skips the test locally and fails it under CI.

Given a :class:`netcut.Link`, a server runs in a network namespace of its own, reached over a
veth pair, and the test can cut the network between it and every client (``link.cut()``:
packets are dropped without a word, as on a real cut) and mend it (``link.mend()``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

import pytest
import sqlalchemy as sa
from netcut import Link
from sqlalchemy.pool import NullPool

IN_CI = os.environ.get("CI") == "true"
START_TIMEOUT = 60.0
DATABASE = "tradewind"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _missing(what: str) -> None:
    message = f"cannot start a throwaway server: {what}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _as_user(user: str, command: list[str]) -> list[str]:
    """``command`` run as ``user`` when we are root (the servers refuse to run as root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", user, "--", *command]


def _own(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, user)


def _wait_port(host: str, port: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return True
        time.sleep(0.05)
    return False


class Throwaway(Protocol):
    kind: str
    url: str
    link: Link | None

    def start(self) -> None: ...

    def stop(self, *, crash: bool = False) -> None: ...

    def restart(self, *, down_for: float = 0.0, crash: bool = False) -> None: ...

    def close(self) -> None: ...


class ThrowawayPostgres:
    kind = "postgres"

    def __init__(self, link: Link | None = None) -> None:
        self.link = link
        self.host = link.host if link is not None else "127.0.0.1"
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            _missing("no pg_ctl under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        # Not under pytest's tmp_path: its parents are private to root, the server's user
        # must be able to reach its folder.
        self.dir = Path(tempfile.mkdtemp(prefix="tw-pg-"))
        self.dir.chmod(0o755)
        _own(self.dir, "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@{self.host}:{self.port}/{DATABASE}"
        self._created = False
        initdb = str(self.bin / "initdb")
        flags = ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]
        self._run([initdb, "-D", str(self.data), *flags])
        if link is not None:  # initdb lets in local clients only
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {link.client}/32 trust\n")

    def _run(self, command: list[str], *, in_link: bool = False) -> None:
        command = _as_user("postgres", command)
        if in_link and self.link is not None:
            command = self.link.run(command)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses={self.host} -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        log = str(self.dir / "server.log")
        pg_ctl = str(self.bin / "pg_ctl")
        timeout = str(int(START_TIMEOUT))
        self._run(
            [pg_ctl, "-D", str(self.data), "-o", options, "-w", "-t", timeout, "-l", log, "start"],
            in_link=True,
        )
        if not self._created:
            admin = sa.create_engine(
                f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres",
                isolation_level="AUTOCOMMIT",
                poolclass=NullPool,
            )
            with admin.connect() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
            admin.dispose()
            self._created = True

    def stop(self, *, crash: bool = False) -> None:
        # immediate: no checkpoint, clients cut off at once (as after a crash);
        # fast: a clean shutdown that still disconnects every client.
        mode = "immediate" if crash else "fast"
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, *, down_for: float = 0.0, crash: bool = False) -> None:
        self.stop(crash=crash)
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self.stop(crash=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayMariaDB:
    kind = "mysql"

    def __init__(self, link: Link | None = None) -> None:
        self.link = link
        self.host = link.host if link is not None else "127.0.0.1"
        self.install = shutil.which("mariadb-install-db")
        self.server = shutil.which("mariadbd") or (
            "/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None
        )
        if self.install is None or self.server is None:
            _missing("mariadb-install-db or mariadbd is not installed")
        self.dir = Path(tempfile.mkdtemp(prefix="tw-maria-"))
        self.dir.chmod(0o755)
        _own(self.dir, "mysql")
        self.data = self.dir / "data"
        # Temporary tables of its own: in the shared /tmp, mariadb-install-db failed now and
        # then to remove one ("Could not remove temporary table ... error: 2").
        self.tmp = self.dir / "tmp"
        self.tmp.mkdir()
        _own(self.tmp, "mysql")
        self.port = free_port()
        self.url = f"mysql+pymysql://root@{self.host}:{self.port}/{DATABASE}"
        self.process: subprocess.Popen[bytes] | None = None
        self._created = False
        user = ["--user=mysql"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [
                str(self.install),
                "--no-defaults",
                f"--datadir={self.data}",
                f"--tmpdir={self.tmp}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *user,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        user = ["--user=mysql"] if os.geteuid() == 0 else []
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 - the server writes it
        with log:
            command = [
                str(self.server),
                "--no-defaults",
                f"--datadir={self.data}",
                f"--tmpdir={self.tmp}",
                f"--port={self.port}",
                f"--bind-address={self.host}",
                f"--socket={self.dir / 'mysqld.sock'}",
                f"--pid-file={self.dir / 'mysqld.pid'}",
                "--skip-name-resolve=0",
                # Each commit reaches the OS: a crash-stop of the server (not of the
                # machine) keeps every committed transaction, as with the default of 1.
                "--innodb-flush-log-at-trx-commit=2",
                "--innodb-buffer-pool-size=64M",
                "--skip-log-bin",
                "--max-connections=200",
                *user,
            ]
            if self.link is not None:
                command = self.link.run(command)  # `ip netns exec` execs: the same process
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        if not _wait_port(self.host, self.port, START_TIMEOUT):
            raise RuntimeError(f"mariadbd did not open port {self.port}")
        if not self._created:
            socket_path = self.dir / "mysqld.sock"
            admin = sa.create_engine(
                f"mysql+pymysql://root@localhost/?unix_socket={socket_path}", poolclass=NullPool
            )
            with admin.connect() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
                if self.link is not None:  # root may connect from local addresses only
                    user = f"'root'@'{self.link.client}'"
                    connection.exec_driver_sql(f"CREATE USER {user}")
                    connection.exec_driver_sql(f"GRANT ALL ON *.* TO {user} WITH GRANT OPTION")
            admin.dispose()
            self._created = True

    def stop(self, *, crash: bool = False) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, *, down_for: float = 0.0, crash: bool = False) -> None:
        self.stop(crash=crash)
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        self.stop(crash=True)
        shutil.rmtree(self.dir, ignore_errors=True)


SERVERS: dict[str, type[ThrowawayPostgres] | type[ThrowawayMariaDB]] = {
    "postgres": ThrowawayPostgres,
    "mysql": ThrowawayMariaDB,
}
