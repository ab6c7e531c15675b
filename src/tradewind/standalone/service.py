"""Run the whole system in one process tree: get the metastore ready, start the web server and
the triggerer in child processes, run the scheduler (with its DAG processor) here, and stop the
children when the scheduler stops.

The web server runs as ``python -m tradewind webserver`` and the triggerer as ``python -m
tradewind triggerer``, just as each runs on its own, with the same settings. See
:mod:`tradewind.standalone` for why this is a part of its own.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage
from tradewind.metastore.bootstrap import Prepared, prepare
from tradewind.scheduler.service import run_scheduler
from tradewind.settings import Settings, child_environ

# Seconds the web server (and the triggerer) has to stop after SIGTERM before it gets SIGKILL.
WEB_SERVER_GRACE = 10


@dataclass(frozen=True)
class Ready:
    metastore: str  # its URL, the password masked
    prepared: Prepared


def get_ready(settings: Settings, engine: Engine, stop: threading.Event) -> Ready | None:
    """Wait for the metastore (saying once that it waits), then make what a first start
    needs (see :func:`tradewind.metastore.bootstrap.prepare`); None when stopped first."""
    if not outage.wait_for_database(engine, stop, "tradewind standalone"):
        return None
    prepared = prepare(settings, engine)
    return Ready(engine_module.mask_url(engine.url), prepared)


@contextmanager
def child_process(settings: Settings, *command: str) -> Iterator[subprocess.Popen[bytes]]:
    """``tradewind COMMAND`` in a child process with ``settings``; stopped on the way out
    (SIGTERM, then SIGKILL after WEB_SERVER_GRACE seconds)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tradewind", *command], env=child_environ(settings)
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=WEB_SERVER_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def web_server_process(settings: Settings) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``tradewind webserver`` in a child process (see :func:`child_process`)."""
    return child_process(settings, "webserver")


def triggerer_process(settings: Settings) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``tradewind triggerer`` in a child process (see :func:`child_process`): it runs the
    triggers of deferred tasks."""
    return child_process(settings, "triggerer")


def run_standalone(
    settings: Settings,
    open_sessions: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    stop: threading.Event,
) -> None:
    """Run the web server and the triggerer (child processes) and the scheduler (here) until
    ``stop`` is set; the metastore's sessions come from ``open_sessions``, opened once the
    children started."""
    with (
        web_server_process(settings),
        triggerer_process(settings),
        open_sessions() as sessions,
    ):
        run_scheduler(settings, sessions, stop)
