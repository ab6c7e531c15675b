"""The local executor's fork server: a warm interpreter that forks one child per task try.

The executor starts it as ``python -m tradewind.executors.processes.forkserver RUNNER FD`` with its
Settings in the environment. It imports the runner once, freezes the garbage collector (so
the forked children share its pages instead of copying them) and then only forks: it holds no
database engine, no thread and no socket but its control socket, so a child inherits nothing
it must not use.

Control socket protocol (a Unix SOCK_SEQPACKET pair, one JSON document per packet)::

    executor -> server  {"id": 7, "workload": {...}}  + the write end of the try's report pipe
                        {"id": 7, "workload_fd": 1}   + that and a memory file of the workload
                                                        (one too large for a packet: handover.py)
    server -> executor  {"event": "ready", "pid": 12}              once, when it can fork
                        {"event": "error", "message": "..."}       instead of ready; it exits
                        {"event": "started", "id": 7, "pid": 345}
                        {"event": "exited", "id": 7, "code": 0}     negative: killed by signal
                        {"event": "failed", "id": 7, "message": "..."}  could not fork

Each child puts itself in a process group of its own, closes everything of the server's,
restores default signal handling and calls the runner with a LineChannel on the report pipe.
When a child ends, the server kills whatever is left in its process group and reaps it. When
the executor closes its end (or dies), the server kills every try's group and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from tradewind.executors.base import ExecutorError, LineChannel
from tradewind.executors.processes import handover, runners, warm
from tradewind.settings import Settings, child_environ, load_settings
from tradewind.workloads import Workload

MAX_MESSAGE = 1 << 20
START_TIMEOUT = 60.0
# On shutdown, how long the server waits for killed tries to be reaped.
_REAP_WAIT = 5.0
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1


class ForkServer:
    """The executor's handle on a running fork server."""

    def __init__(self, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.process = proc
        self.sock = sock

    @classmethod
    def launch(
        cls, runner: str, settings: Settings, *, timeout: float = START_TIMEOUT
    ) -> ForkServer:
        """Start a fork server for ``runner`` and wait until it is ready to fork."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", __name__, runner, str(theirs.fileno())]
        try:
            proc = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                env=child_environ(settings),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            raise ExecutorError(f"cannot start the fork server: {exc}") from exc
        finally:
            theirs.close()
        server = cls(proc, ours)
        try:
            server._handshake(timeout)
        except BaseException:
            server.stop(timeout=0)
            raise
        return server

    @property
    def pid(self) -> int:
        return self.process.pid

    def fileno(self) -> int:
        return self.sock.fileno()

    def run(self, ident: int, workload: Workload, fd: int) -> None:
        """Ask for a child running ``workload`` that reports on ``fd``: a HandoverError when
        this workload cannot be handed over, an OSError when the server is gone."""
        handover.send(self.sock, ident, workload, fd)

    def receive(self) -> tuple[list[dict[str, Any]], bool]:
        """The messages waiting on the control socket, and whether the server is still there."""
        messages: list[dict[str, Any]] = []
        while True:
            try:
                data = self.sock.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return messages, True
            except OSError:
                return messages, False
            if not data:
                return messages, False
            messages.append(json.loads(data))

    def stop(self, timeout: float = _REAP_WAIT + 5.0) -> None:
        """Close the control socket (the server then kills its tries and exits) and reap it."""
        self.sock.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _handshake(self, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(MAX_MESSAGE)
        except TimeoutError:
            raise ExecutorError(f"the fork server did not start within {timeout:g} s") from None
        finally:
            self.sock.settimeout(None)
        if not data:
            code = self.process.wait()
            raise ExecutorError(f"the fork server exited with code {code} while starting")
        message = json.loads(data)
        if message.get("event") != "ready":
            raise ExecutorError(f"the fork server cannot start: {message.get('message')}")


class _Server:
    """The fork server's side: a loop over the control socket and SIGCHLD.

    The same loop runs in each warm process (see :mod:`tradewind.executors.processes.warm`), on the
    socket its fork server gave it, without a pool of its own (``warm_file`` None).
    """

    def __init__(
        self,
        control: socket.socket,
        runner: runners.Runner,
        settings: Settings,
        *,
        warm_file: runners.WarmFile | None = None,
    ):
        self.control = control
        self.runner = runner
        self.settings = settings
        self.children: dict[int, int] = {}  # pid -> try id
        # The DAG files of the tries started the cold way, by pid, while there is a warm pool:
        # what a try costs tells the pool what importing its file costs at most.
        self.cold: dict[int, str] = {}
        self.pid = os.getpid()
        self.retiring = False
        self.warm_file = warm_file
        self.warm: warm.WarmPool | None = None
        if warm_file is not None and settings.core.warm_dag_files > 0:
            self.warm = warm.WarmPool(
                capacity=settings.core.warm_dag_files,
                fork_warm=self._become_warm,
                spawn=self._spawn,
                send=self._send,
                watch=self._watch_warm,
                unwatch=self._unwatch_warm,
            )
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector.register(self.control, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        # SIGCHLD wakes the select through the pipe; Ctrl-C in a terminal reaches the
        # executor, which closes the control socket: that is how the server is stopped.
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, _ignore)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _exit_on_signal)

    def serve(self, ready: dict[str, Any] | None = None) -> int:
        self._send({"event": "ready", "pid": os.getpid(), **(ready or {})})
        _prctl()  # looked up once here, for every child
        gc.freeze()
        try:
            while not (self.retiring and not self.children):
                timeout = None if self.warm is None else self.warm.next_check()
                for key, _ in self.selector.select(timeout):
                    if key.fileobj is self.control and not self._receive():
                        return 0
                    if key.fileobj == self.wake_r:
                        self._drain_wake()
                    if isinstance(key.data, warm.WarmProcess) and self.warm is not None:
                        self.warm.on_readable(key.data)
                self._reap()
                if self.warm is not None:
                    self.warm.expire(time.monotonic())
            return 0
        finally:
            self._shutdown()

    def _watch_warm(self, proc: warm.WarmProcess) -> None:
        self.selector.register(proc.sock, selectors.EVENT_READ, proc)

    def _unwatch_warm(self, proc: warm.WarmProcess) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(proc.sock)

    def _close_inherited(self) -> None:
        """In a forked child: close every descriptor of the server's (not stdio)."""
        signal.set_wakeup_fd(-1)
        if self.warm is not None:
            for fd in self.warm.inherited_fds():
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.selector.close()
        self.control.close()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def _become_warm(self, dag_file: str, sock: socket.socket) -> None:
        """The warm process of ``dag_file`` (just forked by the pool). Never returns."""
        code = 70
        try:
            _die_with_parent(self.pid)
            self._close_inherited()
            assert self.warm_file is not None
            began = time.process_time()
            files = self.warm_file(dag_file)
            import_s = time.process_time() - began
            stats = [[path, *found] for path in files if (found := warm.file_signature(path))]
            _become_subreaper()
            server = _Server(sock, self.runner, self.settings)
            code = server.serve({"files": stats, "import_s": import_s})
        finally:
            os._exit(code)

    def _receive(self) -> bool:
        try:
            data, fds, flags, _ = socket.recv_fds(self.control, MAX_MESSAGE, handover.MAX_FDS)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data and not fds:
            return False
        try:
            message = json.loads(data)
            if message.get("retire") and not fds:
                self.retiring = True  # a warm process being let go
                return True
            ident = int(message["id"])
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise handover.HandoverError("malformed request", ident=ident)
            request = handover.receive(ident, message, data, fds)
        except (ValueError, KeyError, TypeError, AttributeError):
            _close_all(fds)
            return True
        except handover.HandoverError as exc:
            # This request alone: its try fails, the others and the server go on.
            _close_all(fds)
            self._send({"event": "failed", "id": exc.ident, "message": str(exc)})
            return True
        if self.warm is not None and self.warm.take(request):
            return True
        self._spawn(request)
        return True

    def _spawn(self, request: handover.Request) -> None:
        # The child has the workload: its memory file is not needed any more.
        request.drop_workload_file()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            request.close()
            message = f"fork failed: {exc}"
            self._send({"event": "failed", "id": request.ident, "message": message})
            return
        if pid == 0:
            self._child(request.workload, request.report_fd)
        request.close()
        # Set the group from both sides: whichever runs first wins, so the executor never
        # learns a pid whose group does not exist yet.
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        self.children[pid] = request.ident
        if self.warm is not None:
            self.cold[pid] = request.workload.dag_file
        self._send({"event": "started", "id": request.ident, "pid": pid})

    def _child(self, workload: Workload, fd: int) -> None:
        """The try's process. Never returns."""
        code = 70
        try:
            os.setpgid(0, 0)
            _die_with_parent(self.pid)
            self._close_inherited()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            # Programs the task starts must not hold the report pipe open.
            os.set_inheritable(fd, False)
            code = runners.run_try(self.runner, workload, LineChannel(fd), self.settings)
        finally:
            os._exit(code)

    def _reap(self) -> None:
        while True:
            try:
                # WNOWAIT: the ended child stays a zombie for a moment, so its process group
                # id cannot be reused while we kill what it left behind.
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            pid = info.si_pid
            ident = self.children.pop(pid, None)
            if ident is not None:
                runners.signal_group(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            dag_file = self.cold.pop(pid, None)
            if dag_file is not None and self.warm is not None:
                self.warm.learn(dag_file, usage.ru_utime + usage.ru_stime)
            if ident is not None:
                code = os.waitstatus_to_exitcode(status)
                self._send({"event": "exited", "id": ident, "code": code})

    def _shutdown(self) -> None:
        groups = list(self.children)
        for pgid in groups:
            runners.signal_group(pgid, signal.SIGKILL)
        # Warm processes stop their own tries when their socket closes.
        warm_pids = self.warm.close() if self.warm is not None else []
        end = time.monotonic() + _REAP_WAIT
        while time.monotonic() < end:
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            if not any(_exists(os.killpg, pgid) for pgid in groups) and not any(
                _exists(os.kill, pid) for pid in warm_pids
            ):
                break
            self.selector.select(max(0.0, end - time.monotonic()))
            self._drain_wake()

    def _send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.control.send(json.dumps(message).encode())

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.wake_r, 512):
                pass


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _exists(kill: Callable[[int, int], None], ident: int) -> bool:
    """Whether the process (``os.kill``) or process group (``os.killpg``) is still there."""
    try:
        kill(ident, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _become_subreaper() -> None:
    # Grandchildren a try leaves behind are re-parented here rather than to PID 1 (which in a
    # container may never reap them), so the server reaps them and no zombie is left.
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl (None where there is none). Looked up by the server, before it forks:
    a try that looked it up itself would pay ~0.2 ms, most of it copying memory pages."""
    try:
        found: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return found


def _die_with_parent(parent: int) -> None:
    # A server killed outright (SIGKILL, with its scheduler) cannot kill its tries; each then
    # gets SIGKILL from the kernel, so none runs on beside the try a new scheduler starts.
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(70)  # the server died before the request was in place


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(
            "usage: python -m tradewind.executors.processes.forkserver RUNNER FD", file=sys.stderr
        )
        return 2
    runner_path, fd_text = argv
    control = socket.socket(fileno=int(fd_text))
    control.set_inheritable(False)
    try:
        settings = load_settings()
        runner = runners.load_runner(runner_path)
        runners.warm_up(runner_path, settings)
        warm_file = runners.warm_file_hook(runner_path)
    except Exception as exc:
        with contextlib.suppress(OSError):
            control.send(json.dumps({"event": "error", "message": str(exc)}).encode())
        return 1
    _become_subreaper()
    return _Server(control, runner, settings, warm_file=warm_file).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
