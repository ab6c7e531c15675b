"""``tradewind jobs check``: the exit code a liveness probe reads, for each kind of job."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta

from click.testing import Result
from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401
from sqlalchemy import update

from tradewind.metastore.models import Job
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.types import utcnow

pytestmark = sqlite_only

Cli = Callable[..., Result]


def test_a_live_scheduler_passes_and_a_silent_one_fails(system: System, tradewind_cli: Cli) -> None:
    check = ("jobs", "check")
    passed = tradewind_cli(system.settings, *check)
    assert passed.exit_code == 0, passed.output
    assert passed.output.startswith("Found one alive scheduler job")
    # Airflow's spelling of the job type and of the host options.
    local = tradewind_cli(system.settings, *check, "--job-type", "SchedulerJob", "--local")
    assert local.exit_code == 0, local.output
    here = tradewind_cli(system.settings, *check, "--hostname", socket.gethostname())
    assert here.exit_code == 0, here.output
    elsewhere = tradewind_cli(system.settings, *check, "--hostname", "no-such-host")
    assert elsewhere.exit_code == 1
    assert "No alive scheduler jobs found on no-such-host." in elsewhere.output
    # A scheduler that stopped heartbeating is dead for the probe.
    stale = utcnow() - timedelta(seconds=system.settings.scheduler.job_timeout + 60)
    with system.sessions.begin() as session:
        session.execute(update(Job).values(latest_heartbeat=stale))
    failed = tradewind_cli(system.settings, *check)
    assert failed.exit_code == 1
    assert "No alive scheduler jobs found." in failed.output


def test_several_alive_need_allow_multiple(system: System, tradewind_cli: Cli) -> None:
    with system.sessions.begin() as session:
        job_store.start_job(
            session,
            job_store.SCHEDULER,
            hostname="other-host",
            pid=4242,
            executor="LocalExecutor",
            now=utcnow(),
        )
    two = tradewind_cli(system.settings, "jobs", "check", "--limit", "5")
    assert two.exit_code == 1
    assert "Found 2 alive scheduler jobs. Expected only one." in two.output
    allowed = tradewind_cli(system.settings, "jobs", "check", "--limit", "5", "--allow-multiple")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.output.strip() == "Found 2 alive scheduler jobs."
    # --limit caps how many are looked at: with 1, one is enough.
    assert tradewind_cli(system.settings, "jobs", "check").exit_code == 0


def test_triggerer_and_dag_processor_jobs(system: System, tradewind_cli: Cli) -> None:
    for kind, name in (("triggerer", "TriggererJob"), ("dag_processor", "DagProcessorJob")):
        missing = tradewind_cli(system.settings, "jobs", "check", "--job-type", name)
        assert missing.exit_code == 1
        assert f"No alive {kind} jobs found." in missing.output
        with system.sessions.begin() as session:
            job_store.start_job(session, kind, hostname="h", pid=1, executor=None, now=utcnow())
        alive = tradewind_cli(system.settings, "jobs", "check", "--job-type", name)
        assert alive.exit_code == 0, alive.output


def test_local_and_hostname_together_is_a_usage_error(system: System, tradewind_cli: Cli) -> None:
    both = tradewind_cli(system.settings, "jobs", "check", "--local", "--hostname", "x")
    assert both.exit_code == 2
    assert "give --hostname or --local, not both" in both.output
