"""The ``tradewind`` command line: a thin shell over the library.

Command groups are imported only when used (an explicit name -> module table, see
:mod:`tradewind.cli._lazy`), so ``tradewind --help`` stays fast and optional stacks (celery,
kubernetes) are never imported unless chosen.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from tradewind.cli._lazy import LazyGroup
from tradewind.version import __version__

# command name -> "module:attribute" under tradewind.cli
COMMANDS: dict[str, str] = {
    "config": "config:config",
    "db": "db:db",
    "dags": "dags:dags",
    "dag-processor": "processor:dag_processor",
    "scheduler": "scheduler:scheduler",
    "standalone": "standalone:standalone",
    "triggerer": "triggerer:triggerer",
    "tasks": "tasks:tasks",
    "pools": "pools:pools",
    "assets": "assets:assets",
    "variables": "variables:variables",
    "connections": "connections:connections",
    "webserver": "webserver:webserver",
    "api-server": "webserver:webserver",
    "users": "users:users",
    "celery": "celery:celery",
    "kubernetes": "kubernetes:kubernetes",
    "version": "about:version",
    "info": "about:info",
    "jobs": "jobs:jobs",
}


# What `tradewind --help` lists, so that listing the commands imports none of them.
SUMMARIES: dict[str, str] = {
    "assets": "List assets and their events, or record an event.",
    "config": "Show the effective settings.",
    "connections": "Manage connections (how tasks reach external systems).",
    "dag-processor": "Parse DAG files as they appear and change.",
    "dags": "List, inspect, trigger, test, backfill and pause DAGs.",
    "db": "Create, upgrade, check and reset the metastore.",
    "pools": "Create, show and delete pools.",
    "scheduler": "Run the scheduler (with the DAG processor beside it).",
    "standalone": "Run everything in one command on the embedded default.",
    "tasks": "List, inspect, clear, run and test task instances.",
    "triggerer": "Run the triggers of deferred tasks.",
    "variables": "Manage variables (key/value settings that DAGs read).",
    "webserver": "Serve the web UI and the REST API.",
    "api-server": "Serve the web UI and the REST API (same as webserver).",
    "users": "Create, list, delete users and reset their passwords.",
    "celery": "Run Celery workers and Flower, or stop the workers.",
    "kubernetes": "Show a try's pod YAML, or delete finished worker pods.",
    "version": "Print tradewind's version.",
    "info": "Show the version, settings, metastore and extras.",
    "jobs": "Check that a component is alive (for liveness probes).",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    summaries=SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="tradewind")
def cli() -> None:
    """tradewind: a fast, light workflow orchestrator."""


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="tradewind")
