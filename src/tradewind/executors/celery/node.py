"""A ``tradewind celery worker`` node: Celery's worker on the app, with its pool of threads,
its queues and its name, and this host's log server beside it.

The command (cli/celery.py) waits for the metastore, then calls :func:`run_worker` with the
metastore's claim (executors do not touch the metastore's tables themselves, see
:mod:`tradewind.executors.celery.worker`).
"""

from __future__ import annotations

from typing import Any

from tradewind.executors.celery.app import default_node_name
from tradewind.executors.celery.logserver import serve_logs
from tradewind.executors.celery.worker import ClaimTry, prepare, register
from tradewind.settings import Settings


def worker_argv(
    settings: Settings, *, concurrency: int, queues: str | None, hostname: str | None, loglevel: str
) -> list[str]:
    """The arguments of Celery's ``worker`` command for this node."""
    return [
        "worker",
        # Each pool thread only waits on its try's process; the tries are child processes.
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={queues or settings.celery.default_queue}",
        f"--loglevel={loglevel.upper()}",
        "--without-mingle",
        "--without-gossip",
        f"--hostname={hostname or default_node_name()}",
    ]


def run_worker(
    app: Any,
    settings: Settings,
    *,
    claim_try: ClaimTry,
    queues: str | None,
    concurrency: int | None,
    hostname: str | None,
    loglevel: str,
) -> None:
    """Run a worker node of ``app`` until it is stopped, each try claimed with ``claim_try``:
    ``concurrency`` tries at once (default ``celery.worker_concurrency``) from ``queues``
    (comma-separated; default ``celery.default_queue``), named ``hostname`` (default: unique
    on this host)."""
    register(app, claim_try)
    concurrency = concurrency or settings.celery.worker_concurrency
    app.conf.worker_concurrency = concurrency
    argv = worker_argv(
        settings, concurrency=concurrency, queues=queues, hostname=hostname, loglevel=loglevel
    )
    serve_logs(settings)  # the web server reads this worker's try logs from it
    prepare(app.tradewind_settings, claim_try)
    app.worker_main(argv)
