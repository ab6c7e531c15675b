"""The Celery app both sides share: task ids, the configuration from settings, the missing extra."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tradewind.cli import cli
from tradewind.executors import load_executor
from tradewind.executors.base import ExecutorError
from tradewind.settings import Settings
from tradewind.workloads import TaskKey

celery_app = pytest.importorskip("tradewind.executors.celery.app")

KEY = TaskKey("etl", "manual__2026-01-01T00:00:00+00:00", "load", -1, 1)


def test_a_task_id_depends_only_on_the_key() -> None:
    first = celery_app.task_id_for(KEY)

    assert first == celery_app.task_id_for(TaskKey(*vars(KEY).values()))
    assert str(uuid.UUID(first)) == first
    expected = uuid.uuid5(
        uuid.NAMESPACE_URL, "tradewind:etl|manual__2026-01-01T00:00:00+00:00|load|-1|1"
    )
    assert first == str(expected)


def test_every_part_of_the_key_changes_the_task_id() -> None:
    others = [
        TaskKey("etl2", KEY.run_id, KEY.task_id, -1, 1),
        TaskKey("etl", "other", KEY.task_id, -1, 1),
        TaskKey("etl", KEY.run_id, "load2", -1, 1),
        TaskKey("etl", KEY.run_id, KEY.task_id, 0, 1),
        TaskKey("etl", KEY.run_id, KEY.task_id, -1, 2),
    ]

    ids = {celery_app.task_id_for(key) for key in [KEY, *others]}

    assert len(ids) == 6


def test_the_config_comes_from_the_settings(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        celery={
            "broker_url": "redis://127.0.0.1:6379/3",
            "default_queue": "main",
            "worker_concurrency": 4,
            "visibility_timeout": 120,
            "options": {
                "broker_pool_limit": 7,
                "broker_transport_options": {"global_keyprefix": "x:"},
            },
        },
    )

    config = celery_app.app_config(settings)

    assert config["broker_url"] == "redis://127.0.0.1:6379/3"
    # The metastore's database, through the database backend that keeps a pooled engine.
    assert config["result_backend"] == f"{celery_app.POOLED_DB_BACKEND}+{settings.database.url}"
    assert config["task_default_queue"] == "main"
    assert config["worker_concurrency"] == 4
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_track_started"] is False
    assert config["broker_pool_limit"] == 7
    assert config["broker_transport_options"] == {
        "visibility_timeout": 120,
        "unacked_restore_interval": 12.0,  # a tenth of the visibility timeout
        "unacked_restore_throttle": 12.0,
        "global_keyprefix": "x:",
    }
    assert config["result_backend_always_retry"] is True


def test_rabbitmq_gets_no_visibility_timeout_and_redis_results_stay_redis(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        celery={"broker_url": "amqp://guest:guest@h:5672//", "result_backend": "redis://h/1"},
    )

    config = celery_app.app_config(settings)

    assert config["broker_transport_options"] == {}
    assert config["result_backend"] == "redis://h/1"


def test_a_worker_registers_the_try_task_on_the_shared_app(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from tradewind.executors.celery import worker
    from tradewind.metastore.store import claims

    settings = make_settings(tmp_path, celery={"options": {"task_always_eager": False}})

    app = celery_app.make_app(settings)
    assert celery_app.TASK_NAME not in app.tasks  # the scheduler only sends it, by name
    worker.register(app, claims.claim)

    task = app.tasks[celery_app.TASK_NAME]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert app.conf.task_default_queue == "default"
    assert app.tradewind_settings is settings


@pytest.fixture
def without_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the celery extra were not installed."""
    for name in list(sys.modules):
        if name.partition(".")[0] == "celery" or name.startswith("tradewind.executors.celery"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "celery", None)


@pytest.mark.usefixtures("without_celery")
def test_choosing_the_executor_without_the_extra_says_how_to_install_it() -> None:
    with pytest.raises(ExecutorError, match=r"pip install 'tradewind\[celery\]'"):
        load_executor("celery")


@pytest.mark.usefixtures("without_celery")
def test_the_cli_without_the_extra_is_a_one_line_error(settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["celery", "worker"], obj=settings)

    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: tradewind celery needs the celery extra: pip install 'tradewind[celery]'"
    )
