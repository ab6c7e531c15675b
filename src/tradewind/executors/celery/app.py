"""The Celery application both sides share: the task name, task ids and the configuration.

The scheduler (:class:`~tradewind.executors.celery.executor.CeleryExecutor`) sends each try as
the task :data:`TASK_NAME` with the id :func:`task_id_for` its key; a worker
(``tradewind celery worker``) registers that task on its app
(:func:`tradewind.executors.celery.worker.register`) and runs it. Both build their app with
:func:`make_app` from the same Settings, so they agree on the broker, the result backend and
the queues; the scheduler sends the task by name and never needs the worker's side.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from tradewind.executors.celery import redisfix
from tradewind.settings import Settings
from tradewind.workloads import TaskKey

TASK_NAME = "tradewind.run_try"
# The result-backend states a worker writes while it holds a try: CLAIMED from the claim until
# the try's process reports it runs, then RUNNING; both carry a heartbeat that changes every
# celery.heartbeat_interval.
CLAIMED_STATE = "CLAIMED"
RUNNING_STATE = "RUNNING"
# Publishing a try gives up (and is tried again at the next resend) after about a second.
PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0.0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


def default_node_name() -> str:
    """The node name of a worker started without one: unique on its host.

    Celery's own default, ``celery@<host>``, is the same for every worker of a host, and on
    RabbitMQ only one of them can consume the remote-control queue named after it: the next
    one dies with RESOURCE_LOCKED. The worker's pid tells workers of one host apart.
    """
    return f"tradewind-{os.getpid()}@%h"


def task_id_for(key: TaskKey) -> str:
    """The Celery task id of a try: the same for every send of it, from any scheduler."""
    parts = [key.dag_id, key.run_id, key.task_id, str(key.map_index), str(key.try_number)]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "tradewind:" + "|".join(parts)))


# Celery's database backend, keeping one pooled engine per process (see dbbackend.py).
POOLED_DB_BACKEND = "tradewind.executors.celery.dbbackend:PooledDatabaseBackend"


def result_backend_url(settings: Settings) -> str:
    """``celery.result_backend``, or the metastore's database through Celery's database backend
    (with an engine pooled per process: see dbbackend.py)."""
    url = settings.celery.result_backend or "db+" + settings.database.url
    if url.startswith("db+"):
        return f"{POOLED_DB_BACKEND}+{url[3:]}"
    return url


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "redis+socket://"))


def app_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration built from ``settings``; ``celery.options`` come last (a table
    option such as ``broker_transport_options`` is merged into the one built here)."""
    celery = settings.celery
    config: dict[str, Any] = {
        "broker_url": celery.broker_url,
        "result_backend": result_backend_url(settings),
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": False,
        "result_extended": False,
        "task_default_queue": celery.default_queue,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
        "worker_concurrency": celery.worker_concurrency,
        # Workers send task events, so Flower shows what runs where.
        "worker_send_task_events": True,
        "task_send_sent_event": False,
        "worker_hijack_root_logger": False,
        "broker_transport_options": {},
        # A try that ends while the result backend is away must keep its outcome: its worker
        # retries the write (for about a minute) instead of dropping it.
        "result_backend_always_retry": True,
        "result_backend_max_retries": 120,
        "result_backend_max_sleep_between_retries_ms": 1000,
    }
    if is_redis(celery.broker_url):
        # Redis gives an un-acked message back after visibility_timeout; the worker looks for
        # such messages often enough that the redelivery comes close to that time.
        restore = max(1.0, min(60.0, celery.visibility_timeout / 10))
        config["broker_transport_options"] = {
            "visibility_timeout": celery.visibility_timeout,
            "unacked_restore_interval": restore,
            "unacked_restore_throttle": restore,
        }
    for name, value in celery.options.items():
        built = config.get(name)
        # A table (e.g. broker_transport_options) adds to the one built here.
        config[name] = (
            {**built, **value} if isinstance(built, dict) and isinstance(value, dict) else value
        )
    return config


def make_app(settings: Settings) -> Any:
    """A Celery app for ``settings`` (a worker adds the try task to it: see
    :func:`tradewind.executors.celery.worker.register`).

    Raises ModuleNotFoundError (naming ``celery``) when the celery extra is not installed.
    """
    from celery import Celery

    redisfix.install()
    app = Celery("tradewind", set_as_current=False)
    app.conf.update(app_config(settings))
    # The worker and the result backend read their Settings here (the ones the app is built from).
    app.tradewind_settings = settings
    return app
