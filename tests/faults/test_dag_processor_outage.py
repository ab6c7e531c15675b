"""A standalone ``tradewind dag-processor`` while its metastore (a throwaway PostgreSQL or
MariaDB server of the test's own) is down for a while: it stays up, says so once and once when
the metastore is back, and registers the files added during and after the outage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from dagprocs import Site, make_site_fixture, wait_until  # noqa: F401
from scheduling import tradewind_process
from throwaway import Throwaway

from tradewind.metastore.types import utcnow

DOWN = "the DAG processor lost the metastore"
BACK = "the DAG processor reached the metastore again"


def test_the_dag_processor_rides_out_a_metastore_restart(
    make_site: Callable[..., Site], throwaway_db: Throwaway, tmp_path: Path
) -> None:
    site = make_site(throwaway_db.url)
    site.write_dag("before", 'simple_dag("before")\n')
    log = tmp_path / "processor.log"
    with tradewind_process(site.settings, "dag-processor", log=log) as processor:
        wait_until(lambda: "before" in site.registered(), "the first DAG")
        wait_until(site.processor_pid, "the DAG processor's heartbeat")
        site.sessions.kw["bind"].dispose()

        throwaway_db.stop()
        wait_until(lambda: DOWN in log.read_text(), "the processor to say the metastore is gone")
        # Parsed while the metastore is away; written once it is back.
        site.write_dag("during", 'simple_dag("during")\n')
        back_at = utcnow()
        throwaway_db.start()
        wait_until(lambda: BACK in log.read_text(), "the processor to say the metastore is back")
        wait_until(lambda: "during" in site.registered(), "the DAG added during the outage")
        site.write_dag("after", 'simple_dag("after")\n')
        wait_until(lambda: "after" in site.registered(), "the DAG added after the outage")
        assert processor.poll() is None
        # It heartbeats again, as the same job.
        jobs = site.processor_jobs()
        assert [job.pid for job in jobs] == [processor.pid]
        assert jobs[0].latest_heartbeat > back_at - timedelta(seconds=1)
    text = log.read_text()
    assert text.count(DOWN) == 1, text
    assert text.count(BACK) == 1, text
    assert "Traceback" not in text, text
    assert site.import_errors() == {}
