"""``tradewind tasks``: run one try for an executor, or test a task by hand."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import Engine

from tradewind.cli._common import get_settings, open_engine, open_metastore, user_errors
from tradewind.exceptions import ParamValidationError, TaskNotFound
from tradewind.executors.base import REPORT_TAG, LineChannel
from tradewind.metastore import crypto
from tradewind.runtime import dagfile, runner
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload

if TYPE_CHECKING:
    from tradewind.authoring.baseoperator import BaseOperator
    from tradewind.authoring.dag import DAG

# Outcomes of `tasks test` that are not failures of the task.
_OK_STATES = {TaskState.SUCCESS, TaskState.SKIPPED, TaskState.UP_FOR_RESCHEDULE}


@click.group()
def tasks() -> None:
    """Run and test task instances."""


# What only `tasks test` and a run without --dag-file use is imported where it is used: each
# try a pod or a subprocess starts imports this module, and its start is the try's start.


def _registered_fileloc(dag_id: str) -> str:
    from tradewind.metastore.store import dags as dag_store

    with open_metastore() as sessions, sessions() as session:
        dag = dag_store.get_dag(session, dag_id)
    if dag is None:
        raise click.ClickException(
            f"no DAG {dag_id!r} is registered (see `tradewind dags list`); pass --dag-file"
        )
    return dag.fileloc


def _report_fd(report_fd: int | None) -> int:
    if report_fd is None:
        # The runner points fd 1 at the log file: keep the original stdout for the messages.
        return os.dup(1)
    try:
        os.fstat(report_fd)
    except OSError:
        raise click.ClickException(f"--report-fd {report_fd} is not an open file") from None
    # Subprocesses of the task must not hold the report pipe open after the try ends.
    os.set_inheritable(report_fd, False)
    return report_fd


@tasks.command()
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("run_id")
@click.option("--try-number", default=1, show_default=True, type=click.IntRange(1))
@click.option("--map-index", default=-1, show_default=True, type=click.IntRange(-1))
@click.option("--dag-file", help="The DAG file (default: where the DAG was registered from).")
@click.option(
    "--report-fd", type=click.IntRange(0), help="Write the messages here (default: stdout)."
)
@click.option(
    "--log-to-stdout",
    is_flag=True,
    help="The try's log goes to stdout instead of its file, the messages there too, each line "
    f"after {REPORT_TAG!r} (what a pod runs: its log is the try's log).",
)
def run(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    try_number: int,
    map_index: int,
    dag_file: str | None,
    report_fd: int | None,
    log_to_stdout: bool,
) -> None:
    """Run one try of a task instance, reporting as JSON lines (what executors start)."""
    settings = get_settings()
    if dag_file is None:
        dag_file = _registered_fileloc(dag_id)
    tag = REPORT_TAG if log_to_stdout and report_fd is None else ""
    channel = LineChannel(_report_fd(report_fd), tag=tag)
    key = TaskKey(dag_id, run_id, task_id, map_index, try_number)
    workload = Workload(key=key, dag_file=dag_file)
    runner.run_workload(workload, channel, settings, log_to_stdout=log_to_stdout)
    _end_now()


def _end_now() -> NoReturn:
    """End as a forked try ends: exit handlers run and output flushed, then out, without the
    interpreter's teardown of all the try imported (some 0.1 s that a pod's end waits for)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


def _parse_date(text: str | None, zone_name: str) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or time (e.g. 2024-01-31 or 2024-01-31T06:00:00+00:00)",
            param_hint="LOGICAL_DATE",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone_name))
    return value.astimezone(UTC)


def _usable_engine(engine: Engine) -> Engine | None:
    from tradewind.metastore import schema

    status = schema.check_db(engine)
    if status.problem or status.current is None or not status.up_to_date:
        reason = status.problem or "it is not initialised or not at head"
        click.echo(
            f"Note: the metastore is not usable ({reason}); variables, connections and XComs "
            "are not available.",
            err=True,
        )
        return None
    return engine


def _load(
    settings: Settings, engine: Engine | None, dag_id: str, task_id: str, dag_file: str | None
) -> tuple[DAG, BaseOperator]:
    with user_errors(dagfile.DagLoadError, TaskNotFound):
        if dag_file is not None:
            return dagfile.load_task(Path(dag_file), dag_id, task_id)
        if engine is not None:
            return dagfile.load_task(Path(_registered_fileloc(dag_id)), dag_id, task_id)
        folders = [settings.core.dags_folder]
        if settings.core.load_examples:
            from tradewind.parsing import processor

            folders.append(processor.example_dags_folder())
        dag = dagfile.find_dag(dag_id, folders)
        if dag is None:
            raise click.ClickException(
                f"no DAG {dag_id!r} found under {', '.join(str(f) for f in folders)}"
            )
        return dag, dag.get_task(task_id)


@tasks.command()
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("logical_date", required=False)
@click.option("--dag-file", help="The DAG file (default: the registered one, or a search).")
@click.option("-c", "--conf", "conf_json", help="The run's conf as a JSON object.")
@click.pass_context
def test(
    ctx: click.Context,
    *,
    dag_id: str,
    task_id: str,
    logical_date: str | None,
    dag_file: str | None,
    conf_json: str | None,
) -> None:
    """Run one task here, with its log on the terminal, without recording any state."""
    from tradewind.runtime import inprocess

    settings = get_settings()
    when = _parse_date(logical_date, settings.core.default_timezone)
    conf: dict[str, Any] = {}
    if conf_json is not None:
        try:
            conf = json.loads(conf_json)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--conf") from None
        if not isinstance(conf, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--conf")
    with user_errors(crypto.CryptoError):
        cipher = crypto.Cipher(settings.core.fernet_key)
    with open_engine() as engine:
        usable = _usable_engine(engine)
        dag, task = _load(settings, usable, dag_id, task_id, dag_file)
        masker = SecretsMasker()
        reader = MetastoreReader(usable, cipher, masker)
        run = inprocess.transient_run(dag, when, conf)
        with user_errors(ParamValidationError):
            outcome = inprocess.run_in_process(dag, task, run, reader, level=settings.logging.level)
    click.echo(f"Task {dag_id}.{task_id} ({run.run_id}): {outcome.state.value}")
    if outcome.return_value is not None:
        click.echo(f"Return value: {masker.mask(json.dumps(outcome.return_value))}")
    if outcome.error:
        click.echo(f"Error: {outcome.error}", err=True)
    if outcome.state not in _OK_STATES:
        ctx.exit(1)
